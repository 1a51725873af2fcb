import type { APIRoute, GetStaticPaths } from 'astro';
import { blogSnapshot, mediaFileResponse, selectPaths } from '../../../lib/blog-data.ts';

// The blog's images: the variants made from content/images/ when content was seeded, copied
// from the database as they are (ADR 0010). Named by their content, so both kinds of build
// (Astro, or the warm renderer, which skips Astro's image step) publish identical files.
export const getStaticPaths = (async () => {
  const snapshot = await blogSnapshot();
  const all = snapshot.mediaFiles.map((file) => ({ params: { file: file.name }, props: { file } }));
  return selectPaths(all, (e) => e.props.file.url);
}) satisfies GetStaticPaths;

export const GET: APIRoute = ({ props }) => mediaFileResponse(props);

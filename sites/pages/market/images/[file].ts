import type { APIRoute, GetStaticPaths } from 'astro';
import { mediaFileResponse, selectPaths } from '../../../lib/blog-data.ts';
import { marketSnapshot } from '../../../lib/market-data.ts';

// The market's images: variants made when content was seeded (or a supplier's image was
// fetched), copied from the database as they are (ADR 0010). Never hot-linked.
export const getStaticPaths = (async () => {
  const snapshot = await marketSnapshot();
  const all = snapshot.mediaFiles.map((file) => ({ params: { file: file.name }, props: { file } }));
  return selectPaths(all, (e) => e.props.file.url);
}) satisfies GetStaticPaths;

export const GET: APIRoute = ({ props }) => mediaFileResponse(props);

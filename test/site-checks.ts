import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { partPath } from '@rose/core';

/**
 * Links to what is rendered on demand, not built: server islands, and the members' pages
 * (sign-in, signup, account) that static pages link to. The server tests fetch those.
 */
export function isOnDemandLink(link: string): boolean {
  return ['/_server-islands/', partPath('auth'), partPath('account')].some((p) => link.startsWith(p));
}

/** Every `href`/`src`/`srcset` URL in the HTML files of a built site that points inside the site. */
export async function internalLinks(clientDir: string): Promise<{ file: string; link: string }[]> {
  const out: { file: string; link: string }[] = [];
  for (const entry of await fs.readdir(clientDir, { recursive: true })) {
    const file = String(entry);
    if (!file.endsWith('.html')) continue;
    const html = await fs.readFile(path.join(clientDir, file), 'utf8');
    for (const m of html.matchAll(/\s(?:href|src)="([^"]+)"/g)) {
      const link = m[1]!.replace(/&amp;/g, '&');
      if (link.startsWith('/') && !link.startsWith('//')) out.push({ file, link });
    }
    // Responsive images: `url 480w, url 960w`.
    for (const m of html.matchAll(/\ssrcset="([^"]+)"/g)) {
      for (const candidate of m[1]!.split(',')) {
        const link = candidate.trim().split(/\s+/)[0]!.replace(/&amp;/g, '&');
        if (link.startsWith('/') && !link.startsWith('//')) out.push({ file, link });
      }
    }
  }
  return out;
}

/** Does a site path resolve to a file the static server would send? */
export function resolvesInBuild(clientDir: string, link: string): boolean {
  const pathname = decodeURIComponent(link.split(/[?#]/)[0]!);
  const target = path.join(clientDir, pathname);
  if (pathname.endsWith('/')) return existsSync(path.join(target, 'index.html'));
  return existsSync(target) || existsSync(path.join(target, 'index.html')) || existsSync(`${target}.html`);
}

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { htmlPolicy, inlineScriptHashes } from './csp.ts';

const sha = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

describe('inlineScriptHashes', () => {
  it('hashes the exact text of each inline script, once, and skips external ones', () => {
    const loader = 'async function replaceServerIsland(id, r) { /* … */ }';
    const island = '\nlet response = await fetch("/_server-islands/AccountMenu?e=1&p=&s=");\n';
    const html = `<head><script src="/_astro/x.js"></script><script>${loader}</script></head><body><script type="module" data-astro-rerun data-island-id="1">${island}</script><SCRIPT>${loader}</SCRIPT ></body>`;
    expect(inlineScriptHashes(html)).toEqual([sha(loader), sha(island)]);
  });

  it('hashes non-ASCII text as UTF-8', () => {
    expect(inlineScriptHashes('<script>const s = "café ✓";</script>')).toEqual([sha('const s = "café ✓";')]);
  });

  it('finds nothing in a page without inline scripts', () => {
    expect(inlineScriptHashes('<p>script</p><script src="/a.js"></script>')).toEqual([]);
  });
});

describe('htmlPolicy', () => {
  it('names the hashes in script-src and forbids framing by other sites', () => {
    const policy = htmlPolicy(["'sha256-abc'"]);
    expect(policy).toContain("script-src 'self' 'sha256-abc'");
    expect(policy).toContain("frame-ancestors 'self'");
    expect(policy).toContain("object-src 'none'");
    expect(policy.split('; ').find((d) => d.startsWith('script-src'))).not.toContain('unsafe');
  });
});

import net from 'node:net';
import { listenOrigin, sameHost } from '@rose/config';
import type { CommandContext } from './context.ts';

/**
 * Settles where `rose serve` / `rose dev` will listen before anything starts: port 0 becomes
 * a free port, and without ROSE_SITE_URL the site's origin (the OpenID issuer, sign-in and
 * account pages) is the listen address. Warns when ROSE_SITE_URL names another address:
 * sign-in and account pages reached here then redirect there.
 */
export async function settleListenAddress<T extends { host: string; port: number }>(ctx: CommandContext, requested: T): Promise<{ ctx: CommandContext; opts: T }> {
  const port = requested.port === 0 ? await freePort(requested.host) : requested.port;
  const origin = listenOrigin(requested.host, port);
  const settled = ctx.listeningOn(origin);
  const { config } = settled;
  const everyInterface = ['0.0.0.0', '::', '[::]'].includes(requested.host);
  // URLs here end without "/" after the port: tools read the first "http://host:port/" printed as the server's address.
  if (config.siteUrlExplicit && !sameHost(config.siteUrl, origin) && !(everyInterface && new URL(config.siteUrl).port === String(port)) && config.trustedProxies.length === 0) {
    ctx.out.error(
      `⚠ ROSE_SITE_URL is ${config.siteUrl} but this server listens on ${origin}: sign-in and account pages opened here redirect to ${config.siteUrl}.\n` +
        `  Fine behind a proxy serving ${config.siteUrl} (list it in ROSE_TRUSTED_PROXIES and this warning goes); otherwise set ROSE_SITE_URL to the address visitors use, or unset it.`,
    );
  } else if (!config.siteUrlExplicit && everyInterface) {
    ctx.out.error(`⚠ Listening on every interface without ROSE_SITE_URL: sign-in and account pages answer on ${origin} and redirect there from other addresses. Set ROSE_SITE_URL to the address visitors use.`);
  }
  return { ctx: settled, opts: { ...requested, port } };
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host.replace(/^\[|\]$/g, ''), () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

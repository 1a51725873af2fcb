import { defineMiddleware } from 'astro:middleware';
import { getServices, reportPageRendered, requestOrigin, siteOriginRedirect } from '@rose/app';
import { isSiteOnlyPath, linkPaths } from '@rose/core';
import { policyFor, refuseUnacceptable } from './lib/request-limits.ts';
import { clearSessionCookie, sessionCookieName, setSessionCookie } from './lib/session-cookie.ts';

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);
const csrfExempt = new Set([linkPaths.api.ghostWebhook(), linkPaths.auth.ssoBackchannel()]);

export const onRequest = defineMiddleware(async (context, next) => {
  if (context.isPrerendered) {
    const response = await next();
    // During `rose build`, each prerendered page ticks the CLI's progress bar.
    reportPageRendered(context.url.pathname);
    return response;
  }
  // Methods, body types and sizes each route accepts (405/415/413), before anything reads it.
  const refused = await refuseUnacceptable(context.request, policyFor(context.routePattern));
  if (refused) return refused;
  // The one place pages get their services from: Astro.locals.services.
  const services = await getServices();
  context.locals.services = services;
  // The origin the visitor used: X-Forwarded-Host/-Proto count only from ROSE_TRUSTED_PROXIES.
  const { method, headers } = context.request;
  const origin = requestOrigin(services.config, { origin: context.url.origin, remoteAddress: clientAddress(context), forwardedHost: headers.get('x-forwarded-host'), forwardedProto: headers.get('x-forwarded-proto') });
  context.locals.origin = origin ?? context.url.origin;
  // Sign-in and account pages live on the site's origin (and on parts' own hosts): reached
  // on any other (127.0.0.1 for localhost, another port), the visitor is sent there.
  const elsewhere = siteOriginRedirect(services.config, { method, origin, path: context.url.pathname + context.url.search });
  if (elsewhere) {
    return new Response(elsewhere.text, { status: elsewhere.status, headers: { Location: elsewhere.location, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } });
  }
  // CSRF: a state-changing request must come from a page of this origin. The exceptions
  // authenticate themselves (signed webhook, signed logout token).
  if (!safeMethods.has(method) && !csrfExempt.has(context.url.pathname)) {
    if (headers.get('origin') !== context.locals.origin) {
      return new Response('Cross-site request refused.', { status: 403, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
    }
  }
  // On-demand pages and islands: who is signed in.
  const token = context.cookies.get(sessionCookieName)?.value;
  if (token) {
    const valid = await services.auth.sessions.validate(token).catch((error: unknown) => {
      services.logger.error({ err: error }, 'session validation failed');
      return null;
    });
    if (valid) {
      context.locals.user = valid.user;
      context.locals.session = valid.session;
      if (valid.session.renewed) setSessionCookie(context.cookies, token, valid.session.expiresAt, services.config.siteUrl);
    } else {
      clearSessionCookie(context.cookies, services.config.siteUrl);
    }
  }
  const response = await next();
  // Pages that depend on who is asking must never be stored by shared caches.
  if (token || context.locals.user) response.headers.set('Cache-Control', 'private, no-store');
  response.headers.set('X-Content-Type-Options', 'nosniff');
  response.headers.set('Referrer-Policy', 'strict-origin-when-cross-origin');
  // Sign-in and account pages must not be framed by another site (clickjacking).
  if (isSiteOnlyPath(context.url.pathname)) {
    response.headers.set('X-Frame-Options', 'DENY');
    response.headers.set('Content-Security-Policy', "frame-ancestors 'none'");
  }
  return response;
});

function clientAddress(context: { clientAddress: string }): string | undefined {
  try {
    return context.clientAddress;
  } catch {
    return undefined;
  }
}

import { defineMiddleware } from 'astro:middleware';
import { reportPageRendered } from '@rose/app';

export const onRequest = defineMiddleware(async (context, next) => {
  const response = await next();
  // During `rose build`, each prerendered page ticks the CLI's progress bar.
  if (context.isPrerendered) reportPageRendered(context.url.pathname);
  return response;
});

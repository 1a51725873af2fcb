import os from 'node:os';
import { assertNever, formatMoney, RoseError } from '@rose/core';
import type { ManageError } from '@rose/market';
import type { CommandContext } from '../context.ts';

type ManageResult<T> = { ok: true; value: T } | { ok: false; error: ManageError };

/** Who did it, for the market's audit: the OS user running the command. */
function actor(): string {
  let name = 'unknown';
  try {
    name = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): the audit still says it was the CLI.
  }
  return `cli:${name}`;
}

const listHints = {
  producer: 'List them with `rose market producers list`.',
  product: 'List them with `rose market products list`.',
  variant: 'Variants are named by SKU: `rose market products list` shows them.',
  cycle: 'List them with `rose market cycles list`.',
  category: 'Categories come from content/market/categories.json.',
} as const;

function unwrap<T>(result: ManageResult<T>, what: string): T {
  if (result.ok) return result.value;
  const e = result.error;
  switch (e.type) {
    case 'not-found':
      throw new RoseError({ code: 'not-found', title: `No such ${e.entity}`, message: `There is no ${e.entity} "${e.slug}".`, hint: listHints[e.entity] });
    case 'conflict':
      throw new RoseError({ code: 'conflict', title: 'Already exists', message: e.message, hint: 'Choose another slug or SKU, or update the existing one.' });
    case 'invalid':
      throw new RoseError({ code: 'bad-argument', title: `Cannot ${what}`, message: e.problems.join('\n'), hint: 'Nothing was changed.' });
    default:
      return assertNever(e);
  }
}

async function confirm(ctx: CommandContext, force: boolean | undefined, question: string, refusal: RoseError): Promise<void> {
  if (force) return;
  if (!ctx.out.ask) throw refusal;
  const answer = await ctx.out.ask(`${question} Type "yes" to go ahead: `);
  if (answer.trim().toLowerCase() !== 'yes') throw new RoseError({ code: 'bad-argument', title: 'Stopped', message: 'Nothing was changed.' });
}

const rebuildNote = 'A rebuild of the affected pages is queued (`rose serve` or `rose worker` runs it).';

export interface ProducerFields {
  name?: string;
  location?: string;
  website?: string;
  email?: string;
  phone?: string;
  story?: string;
  featured?: boolean;
}

function producerInput(o: ProducerFields) {
  return {
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.location !== undefined ? { location: o.location } : {}),
    ...(o.website !== undefined ? { website: o.website } : {}),
    ...(o.email !== undefined ? { contactEmail: o.email } : {}),
    ...(o.phone !== undefined ? { contactPhone: o.phone } : {}),
    ...(o.story !== undefined ? { story: o.story } : {}),
    ...(o.featured !== undefined ? { featured: o.featured } : {}),
  };
}

export async function producersList(ctx: CommandContext, opts: { json?: boolean; archived?: boolean }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const rows = await services.market.manage.listProducers({ archived: Boolean(opts.archived) });
    if (opts.json) return ctx.out.info(JSON.stringify(rows, null, 2));
    if (rows.length === 0) return ctx.out.info('No producers yet. Add one with `rose market producers add`, or seed content/market/ with `rose db seed`.');
    for (const p of rows) ctx.out.info(`${p.slug.padEnd(28)} ${p.name}${p.location ? ` (${p.location})` : ''} · ${p.products} product(s)${p.featured ? ' · featured' : ''}${p.archived ? ' · ARCHIVED' : ''}`);
  });
}

export async function producersAdd(ctx: CommandContext, opts: ProducerFields & { slug: string }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    unwrap(await services.market.manage.addProducer(actor(), { slug: opts.slug, ...producerInput(opts) }), 'add the producer');
    ctx.out.info(`Added producer ${opts.slug}. ${rebuildNote}`);
  });
}

export async function producersUpdate(ctx: CommandContext, slug: string, opts: ProducerFields): Promise<void> {
  const input = producerInput(opts);
  if (Object.keys(input).length === 0) throw new RoseError({ code: 'bad-argument', title: 'Nothing to change', message: 'Give at least one field to change, e.g. --name or --location.', hint: 'See `rose market producers update --help`.' });
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    unwrap(await services.market.manage.updateProducer(actor(), slug, input), 'update the producer');
    ctx.out.info(`Updated producer ${slug}. ${rebuildNote}`);
  });
}

export async function producersArchive(ctx: CommandContext, slug: string, opts: { force?: boolean }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const producer = (await services.market.manage.listProducers()).find((p) => p.slug === slug);
    if (!producer) unwrap({ ok: false, error: { type: 'not-found', entity: 'producer', slug } }, '');
    await confirm(
      ctx,
      opts.force,
      `Archiving ${slug} takes it and its ${producer!.products} product(s) off the market.`,
      new RoseError({ code: 'bad-argument', title: 'Confirmation needed', message: `Archiving ${slug} takes it and its ${producer!.products} product(s) off the market.`, hint: 'Run it at a terminal to confirm, or pass --force.' }),
    );
    unwrap(await services.market.manage.archiveProducer(actor(), slug), 'archive the producer');
    ctx.out.info(`Archived producer ${slug} (kept for past orders; no longer listed). ${rebuildNote}`);
  });
}

export async function productsList(ctx: CommandContext, opts: { json?: boolean; archived?: boolean; producer?: string; category?: string }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const rows = await services.market.manage.listProducts({ archived: Boolean(opts.archived), ...(opts.producer ? { producer: opts.producer } : {}), ...(opts.category ? { category: opts.category } : {}) });
    if (opts.json) return ctx.out.info(JSON.stringify(rows, null, 2));
    if (rows.length === 0) return ctx.out.info('No products match.');
    const locale = (await services.site.chrome()).site.locale;
    for (const p of rows) {
      ctx.out.info(`${p.slug} — ${p.name} (${p.producer}${p.category ? `, ${p.category}` : ''})${p.available ? '' : ' · not available'}${p.archived ? ' · ARCHIVED' : ''}`);
      for (const v of p.variants) {
        const stock = v.stockMode === 'on-demand' ? 'made to order' : `${v.stockCount} in stock`;
        ctx.out.info(`    ${v.sku.padEnd(18)} ${[v.size, v.unit].filter(Boolean).join(' ').padEnd(16)} ${formatMoney({ minor: v.priceMinor, currency: v.currency }, locale).padStart(9)}  ${stock}`);
      }
    }
    ctx.out.info(`${rows.length} product(s).`);
  });
}

export async function productsAdd(
  ctx: CommandContext,
  opts: { slug: string; name: string; producer: string; category?: string; description?: string; sku: string; unit: string; size?: string; price: string; currency: string; stock: string },
): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const input = {
      slug: opts.slug,
      name: opts.name,
      producer: opts.producer,
      ...(opts.category ? { category: opts.category } : {}),
      ...(opts.description !== undefined ? { description: opts.description } : {}),
      variant: { sku: opts.sku, unit: opts.unit, ...(opts.size ? { size: opts.size } : {}), price: opts.price, currency: opts.currency, stock: parseStock(opts.stock) },
    };
    unwrap(await services.market.manage.addProduct(actor(), input), 'add the product');
    ctx.out.info(`Added product ${opts.slug}. ${rebuildNote}`);
  });
}

export async function productsUpdate(ctx: CommandContext, slug: string, given: { name?: string; category?: string; description?: string; available?: boolean; unavailable?: boolean }): Promise<void> {
  if (given.available && given.unavailable) throw new RoseError({ code: 'bad-argument', title: 'Contradicting options', message: 'Give --available or --unavailable, not both.' });
  const { unavailable, ...opts } = { ...given, ...(given.unavailable ? { available: false } : {}) };
  void unavailable;
  const input = {
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.category !== undefined ? { category: opts.category === 'none' ? null : opts.category } : {}),
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    ...(opts.available !== undefined ? { available: opts.available } : {}),
  };
  if (Object.keys(input).length === 0) throw new RoseError({ code: 'bad-argument', title: 'Nothing to change', message: 'Give at least one field to change, e.g. --name or --unavailable.', hint: 'See `rose market products update --help`.' });
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    unwrap(await services.market.manage.updateProduct(actor(), slug, input), 'update the product');
    ctx.out.info(`Updated product ${slug}. ${rebuildNote}`);
  });
}

export async function productsArchive(ctx: CommandContext, slug: string, opts: { force?: boolean }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    await confirm(ctx, opts.force, `Archiving ${slug} takes it off the market.`, new RoseError({ code: 'bad-argument', title: 'Confirmation needed', message: `Archiving ${slug} takes it off the market (it is kept for past orders).`, hint: 'Run it at a terminal to confirm, or pass --force.' }));
    unwrap(await services.market.manage.archiveProduct(actor(), slug), 'archive the product');
    ctx.out.info(`Archived product ${slug}. ${rebuildNote}`);
  });
}

function parseStock(value: string): number | 'on-demand' | string {
  if (value === 'on-demand') return value;
  // Not a whole number: handed on as it is so the one validator explains it.
  return /^\d+$/.test(value) ? Number(value) : value;
}

export async function productsStock(ctx: CommandContext, sku: string, value: string): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const r = unwrap(await services.market.manage.setStock(actor(), sku, parseStock(value)), 'set the stock');
    ctx.out.info(`${sku} (${r.product}): stock ${r.before} → ${r.after}. The live stock on the site shows it now; ${rebuildNote.toLowerCase()}`);
  });
}

export async function productsPrice(ctx: CommandContext, sku: string, amount: string, opts: { currency?: string }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const r = unwrap(await services.market.manage.setPrice(actor(), sku, amount, opts.currency), 'set the price');
    const locale = (await services.site.chrome()).site.locale;
    ctx.out.info(`${sku} (${r.product}): price → ${formatMoney({ minor: r.afterMinor, currency: r.currency }, locale)}. ${rebuildNote}`);
  });
}

export async function cyclesList(ctx: CommandContext, opts: { json?: boolean; archived?: boolean }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const rows = await services.market.manage.listCycles({ archived: Boolean(opts.archived) });
    if (opts.json) return ctx.out.info(JSON.stringify(rows, null, 2));
    if (rows.length === 0) return ctx.out.info('No order cycles. Add one with `rose market cycles add`.');
    const now = services.clock.now();
    for (const c of rows) {
      const state = c.archived ? 'ARCHIVED' : c.closesAt <= now ? 'closed' : c.opensAt <= now ? 'OPEN' : 'upcoming';
      const when = (d: Date) => new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: c.timeZone }).format(d);
      ctx.out.info(`${c.slug.padEnd(20)} ${state.padEnd(9)} ${when(c.opensAt)} → ${when(c.closesAt)} (${c.timeZone}) · ${c.products} product(s) · ${c.name}`);
    }
  });
}

export async function cyclesAdd(ctx: CommandContext, opts: { slug: string; name: string; opens: string; closes: string; zone: string; note?: string; producer?: string[]; product?: string[] }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const input = { slug: opts.slug, name: opts.name, opensAt: opts.opens, closesAt: opts.closes, timeZone: opts.zone, ...(opts.note !== undefined ? { note: opts.note } : {}) };
    unwrap(await services.market.manage.addCycle(actor(), input, { producers: opts.producer ?? [], products: opts.product ?? [] }), 'add the cycle');
    ctx.out.info(`Added order cycle ${opts.slug}. ${rebuildNote}`);
  });
}

export async function cyclesUpdate(ctx: CommandContext, slug: string, opts: { name?: string; opens?: string; closes?: string; zone?: string; note?: string; add?: string[]; remove?: string[] }): Promise<void> {
  const input = {
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.opens !== undefined ? { opensAt: opts.opens } : {}),
    ...(opts.closes !== undefined ? { closesAt: opts.closes } : {}),
    ...(opts.zone !== undefined ? { timeZone: opts.zone } : {}),
    ...(opts.note !== undefined ? { note: opts.note } : {}),
  };
  if (Object.keys(input).length === 0 && !opts.add?.length && !opts.remove?.length) {
    throw new RoseError({ code: 'bad-argument', title: 'Nothing to change', message: 'Give at least one change, e.g. --closes or --add-product.', hint: 'See `rose market cycles update --help`.' });
  }
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    unwrap(await services.market.manage.updateCycle(actor(), slug, input, { add: opts.add ?? [], remove: opts.remove ?? [] }), 'update the cycle');
    ctx.out.info(`Updated order cycle ${slug}. ${rebuildNote}`);
  });
}

export async function cyclesArchive(ctx: CommandContext, slug: string, opts: { force?: boolean }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    await confirm(ctx, opts.force, `Archiving ${slug} ends ordering in it.`, new RoseError({ code: 'bad-argument', title: 'Confirmation needed', message: `Archiving ${slug} ends ordering in that cycle.`, hint: 'Run it at a terminal to confirm, or pass --force.' }));
    unwrap(await services.market.manage.archiveCycle(actor(), slug), 'archive the cycle');
    ctx.out.info(`Archived order cycle ${slug}. ${rebuildNote}`);
  });
}

export async function marketAudit(ctx: CommandContext, opts: { json?: boolean; entity?: string; slug?: string; limit: number }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const rows = await services.market.manage.audit({ ...(opts.entity ? { entity: opts.entity } : {}), ...(opts.slug ? { slug: opts.slug } : {}), limit: opts.limit });
    if (opts.json) return ctx.out.info(JSON.stringify(rows, null, 2));
    if (rows.length === 0) return ctx.out.info('No market changes recorded.');
    for (const r of rows) ctx.out.info(`${r.at.toISOString()}  ${r.actor.padEnd(22)} ${r.action.padEnd(8)} ${r.entity} ${r.slug}  ${JSON.stringify(r.details)}`);
  });
}

export async function marketScrape(
  ctx: CommandContext,
  suppliers: string[],
  opts: { dryRun?: boolean; schedule?: boolean; every?: number; status?: boolean; json?: boolean; allowPrivateAddresses?: boolean },
): Promise<void> {
  if (opts.every !== undefined && !opts.schedule) {
    throw new RoseError({ code: 'bad-argument', title: 'Option needs --schedule', message: '--every says how often a scheduled scrape repeats; it goes with --schedule.', hint: 'rose market scrape --schedule --every 24' });
  }
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const locale = (await services.site.chrome()).site.locale;
    const money = (m: { minor: number; currency: string }) => formatMoney(m, locale);
    if (opts.status) {
      const runs = await services.market.scrapeRuns();
      if (opts.json) return ctx.out.info(JSON.stringify(runs, null, 2));
      if (runs.length === 0) return ctx.out.info('No scrape has run yet. Run `rose market scrape`.');
      for (const r of runs) {
        const report = 'new' in r.report ? r.report : undefined;
        ctx.out.info(
          `${r.supplier.padEnd(24)} ${r.status.padEnd(7)} ${r.startedAt.toISOString()} · ${r.pages} page(s)${report ? ` · ${report.new.length} new, ${report.priceChanged.length} price changed, ${report.gone.length} gone, ${report.errors.length} problem(s)` : ''}${r.error ? ` · ${r.error}` : ''}`,
        );
      }
      return;
    }
    if (opts.schedule) {
      const { replaced } = await services.market.scheduleScrape(suppliers, { ...(opts.every ? { everyHours: opts.every } : {}), ...(opts.allowPrivateAddresses ? { allowPrivateAddresses: true } : {}) });
      const who = suppliers.length ? suppliers.join(', ') : 'every supplier';
      ctx.out.info(`Queued a scrape of ${who}${opts.every ? `, repeating every ${opts.every} hour(s)` : ''}; \`rose serve\` or \`rose worker\` runs it${replaced ? ` (replaces ${replaced} queued before)` : ''}. \`rose market scrape --status\` shows the last run.`);
      return;
    }
    let line = '';
    const runs = await services.market.scrape(suppliers, {
      dryRun: Boolean(opts.dryRun),
      allowPrivateAddresses: Boolean(opts.allowPrivateAddresses),
      onSupplierStart: (s) => {
        if (!ctx.out.isTTY) ctx.out.error(`Scraping ${s}…`);
      },
      onProgress: (s, done, total, url) => {
        if (!ctx.out.isTTY) return;
        line = `\r${s}: ${done}/${total} ${url.length > 60 ? `${url.slice(0, 57)}…` : url}`;
        process.stderr.write(`${line}\x1b[K`);
      },
    });
    if (line) process.stderr.write('\r\x1b[K');
    if (opts.json) ctx.out.info(JSON.stringify(runs, null, 2));
    else {
      if (opts.dryRun) ctx.out.info('Dry run: nothing was changed. This is what a run would do:');
      for (const run of (await import('@rose/market')).describeRunLines(runs, money)) ctx.out.info(run);
    }
    const failed = runs.filter((r) => !r.ok);
    // One bad page is a problem in the report; a supplier that could not be scraped at all fails the run.
    if (failed.length > 0) {
      throw new RoseError({ code: 'bad-argument', title: 'Scrape failed', message: `${failed.length} of ${runs.length} supplier(s) could not be scraped: ${failed.map((f) => f.supplier).join(', ')}.`, hint: 'See the lines above; the other suppliers were applied.' });
    }
  });
}

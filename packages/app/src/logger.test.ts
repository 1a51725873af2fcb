import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runWithLogContext } from '@rose/observability';
import { createLogger } from './logger.ts';

function capture() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { stream, lines };
}

describe('logger', () => {
  it('adds the log context (request id, job) to every line written inside it, and nothing outside', async () => {
    const { stream, lines } = capture();
    const logger = createLogger('info', stream);
    logger.info('before');
    await runWithLogContext({ reqId: 'req-1' }, async () => {
      await Promise.resolve();
      logger.info({ part: 'blog' }, 'inside');
      runWithLogContext({ reqId: 'req-1', jobId: 7, jobType: 'blog.rebuild' }, () => logger.warn('in a job'));
    });
    logger.info('after');
    await new Promise((r) => setImmediate(r));
    expect(lines.map(({ time: _time, ...rest }) => rest)).toEqual([
      { level: 30, msg: 'before' },
      { level: 30, reqId: 'req-1', part: 'blog', msg: 'inside' },
      { level: 40, reqId: 'req-1', jobId: 7, jobType: 'blog.rebuild', msg: 'in a job' },
      { level: 30, msg: 'after' },
    ]);
  });
});

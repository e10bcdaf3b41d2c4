import { BATCH_CHARS, FLUSH_INTERVAL_MS, LineBatchDestination } from './line-batch.destination';

/** A file descriptor stand-in: records what reaches it, one entry per system call. */
function fakeFd(behaviour: (call: number, buffer: Buffer, offset: number) => number | Error) {
  const writes: string[] = [];
  let call = 0;
  const writeToFd = (_fd: number, buffer: Buffer, offset: number): number => {
    const result = behaviour(call++, buffer, offset);
    if (result instanceof Error) throw result;
    writes.push(buffer.subarray(offset, offset + result).toString());
    return result;
  };
  return { writes, writeToFd };
}

const whole = (_call: number, buffer: Buffer, offset: number) => buffer.length - offset;

function errno(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe(LineBatchDestination.name, () => {
  const destinations: LineBatchDestination[] = [];
  const make = (fd: ReturnType<typeof fakeFd>, sleep: (ms: number) => void = () => undefined) => {
    const destination = new LineBatchDestination(1, fd.writeToFd, sleep);
    destinations.push(destination);
    return destination;
  };
  afterEach(() => destinations.splice(0).forEach((destination) => destination.close()));

  it('holds lines until a batch is full, then writes them in one call, in order', () => {
    const fd = fakeFd(whole);
    const destination = make(fd);
    const line = `${'x'.repeat(63)}\n`;
    const perBatch = BATCH_CHARS / line.length;
    for (let i = 0; i < perBatch - 1; i++) destination.write(line);
    expect(fd.writes).toEqual([]);
    destination.write(line);
    expect(fd.writes).toEqual([line.repeat(perBatch)]);
  });

  it('writes a partial batch within the flush interval', async () => {
    const fd = fakeFd(whole);
    const destination = make(fd);
    destination.write('{"a":1}\n');
    await new Promise((resolve) => setTimeout(resolve, FLUSH_INTERVAL_MS * 2));
    expect(fd.writes).toEqual(['{"a":1}\n']);
  });

  it('finishes a batch the system wrote only part of, counting bytes, not characters', () => {
    const fd = fakeFd((call, buffer, offset) => (call === 0 ? 5 : buffer.length - offset));
    const destination = make(fd);
    destination.write('{"msg":"héllo ✓"}\n');
    destination.flushSync();
    expect(fd.writes.join('')).toBe('{"msg":"héllo ✓"}\n');
    expect(fd.writes).toHaveLength(2);
  });

  it('waits for a full pipe (EAGAIN) instead of dropping lines', () => {
    const fd = fakeFd((call, buffer, offset) =>
      call < 3 ? errno('EAGAIN') : buffer.length - offset,
    );
    const sleeps: number[] = [];
    const destination = make(fd, (ms) => sleeps.push(ms));
    destination.write('kept\n');
    destination.flushSync();
    expect(fd.writes).toEqual(['kept\n']);
    expect(sleeps).toHaveLength(3);
  });

  it('drops the batch, without throwing, when stdout is gone', () => {
    const fd = fakeFd((call, buffer, offset) =>
      call === 0 ? errno('EPIPE') : buffer.length - offset,
    );
    const destination = make(fd);
    destination.write('lost\n');
    expect(() => destination.flushSync()).not.toThrow();
    destination.write('next\n');
    destination.flushSync();
    expect(fd.writes).toEqual(['next\n']);
  });

  it('flushes for pino’s logger.flush(callback)', () => {
    const fd = fakeFd(whole);
    const destination = make(fd);
    destination.write('line\n');
    const callback = jest.fn();
    destination.flush(callback);
    expect(fd.writes).toEqual(['line\n']);
    expect(callback).toHaveBeenCalledWith();
  });
});

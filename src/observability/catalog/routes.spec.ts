import { isProbePath } from './routes';

describe(isProbePath.name, () => {
  it.each([
    ['/metrics', true],
    ['/metrics?name=x', true],
    ['/health', true],
    ['/health/ready', true],
    ['/health/:component', true],
    ['/healthy', false],
    ['/metricsx', false],
    ['/v1/health', false],
    ['/v1/info', false],
  ])('%s → %s', (url, expected) => {
    expect(isProbePath(url)).toBe(expected);
  });
});

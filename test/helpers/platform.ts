/** HTTP helpers that drive the platform API the way a client does. */

export const TEST_ADMIN_KEY = 'test-admin-key-0123456789';

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function request<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

export interface TestTenant {
  id: string;
  key: string;
}

export async function createTenant(
  baseUrl: string,
  options: {
    name?: string;
    daily?: number;
    monthly?: number;
    userId?: string;
    adminKey?: string;
  } = {},
): Promise<TestTenant> {
  const res = await request(baseUrl, 'POST', '/v1/tenants', {
    key: options.adminKey ?? TEST_ADMIN_KEY,
    body: {
      name: options.name ?? 'acme',
      daily_token_limit: options.daily ?? 1_000_000,
      monthly_token_limit: options.monthly ?? 10_000_000,
      ...(options.userId ? { user_id: options.userId } : {}),
    },
  });
  if (res.status !== 201)
    throw new Error(`createTenant: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.tenant.id, key: res.body.api_key };
}

export async function createAgent(
  baseUrl: string,
  key: string,
  overrides: Record<string, unknown> = {},
): Promise<{ id: string; [field: string]: unknown }> {
  const res = await request(baseUrl, 'POST', '/v1/agents', {
    key,
    body: {
      name: 'Math helper',
      type: 'math_agent',
      model: 'sim-small',
      instructions: 'You are a careful assistant.',
      tools: ['calculator', 'current_time', 'kb_search'],
      max_steps: 5,
      ...overrides,
    },
  });
  if (res.status !== 201) throw new Error(`createAgent: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export function runAgent(
  baseUrl: string,
  key: string,
  agentId: string,
  input: string,
  headers?: Record<string, string>,
) {
  return request(baseUrl, 'POST', `/v1/agents/${agentId}/runs`, { key, body: { input }, headers });
}

import type { Document } from './document.entity';

/** The snake_case shape of a document in API answers. */
export function documentView(document: Document) {
  return {
    id: document.id,
    title: document.title,
    content: document.content,
    created_at: document.createdAt.toISOString(),
  };
}

export type DocumentView = ReturnType<typeof documentView>;

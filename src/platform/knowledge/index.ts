export { KnowledgeModule } from './knowledge.module';
export { KnowledgeService } from './knowledge.service';
export type { DocumentHit } from './knowledge.service';
export { Document } from './document.entity';

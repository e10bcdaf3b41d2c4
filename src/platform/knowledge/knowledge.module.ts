import { Module } from '@nestjs/common';
import { TenantScopedRepositoryModule, TenantsModule } from '../tenants';
import { Document } from './document.entity';
import { DocumentsController } from './documents.controller';
import { KnowledgeService } from './knowledge.service';

@Module({
  imports: [TenantScopedRepositoryModule.forFeature([Document]), TenantsModule],
  controllers: [DocumentsController],
  providers: [KnowledgeService],
  exports: [KnowledgeService],
})
export class KnowledgeModule {}

import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { CurrentTenant, TenantAuthGuard } from '../tenants';
import type { TenantAuth } from '../tenants';
import { documentView, DocumentView } from './document.view';
import { CreateDocumentDto } from './dto/create-document.dto';
import { ListDocumentsQuery } from './dto/list-documents.query';
import { KnowledgeService } from './knowledge.service';

@Controller('v1/documents')
@UseGuards(TenantAuthGuard)
export class DocumentsController {
  constructor(private readonly knowledge: KnowledgeService) {}

  @Post()
  @HttpCode(201)
  async create(
    @CurrentTenant() auth: TenantAuth,
    @Body() body: CreateDocumentDto,
  ): Promise<DocumentView> {
    return documentView(await this.knowledge.create(auth.tenantId, body));
  }

  @Get()
  async list(
    @CurrentTenant() auth: TenantAuth,
    @Query() query: ListDocumentsQuery,
  ): Promise<DocumentView[]> {
    return (await this.knowledge.list(auth.tenantId, query.limit)).map(documentView);
  }
}

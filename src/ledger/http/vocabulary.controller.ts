import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ledgerVocabulary } from '../../vocabulary/ledger-vocabulary.js';
import { VOCABULARY_NAMES, type VocabularyName } from '../../vocabulary/vocabulary.js';

@ApiTags('vocabulary')
@Controller('v1/vocabulary')
export class VocabularyController {
  @Get()
  @ApiOperation({ summary: 'The vocabularies this ledger accepts, with versions' })
  index() {
    return VOCABULARY_NAMES.map((name) => ({ name, version: ledgerVocabulary().version(name), entries: ledgerVocabulary().list(name).length }));
  }

  @Get(':name')
  @ApiOperation({ summary: 'Every key of one vocabulary (data-categories, purposes, legal-bases, ...)' })
  get(@Param('name') name: string) {
    if (!(VOCABULARY_NAMES as readonly string[]).includes(name)) {
      throw new NotFoundException(`name: unknown vocabulary '${name}'; one of ${VOCABULARY_NAMES.join(', ')}`);
    }
    const vocabulary = name as VocabularyName;
    return { name, version: ledgerVocabulary().version(vocabulary), entries: ledgerVocabulary().list(vocabulary) };
  }
}

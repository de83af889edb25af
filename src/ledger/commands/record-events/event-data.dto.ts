import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  IsObject,
} from 'class-validator';
import type * as E from '../../domain/events.js';
import type { LedgerEventType } from '../../domain/events.js';
import { NestedDto } from './dto-validator.js';
import { IsPseudonymousId, IsVocabularyKey, IsWellFormedText } from './validation.js';

/*
 * One class per event type's `data`, each implementing the domain type so the two cannot
 * drift apart. Free-text fields are short and must not carry personal values: those belong
 * in the envelope's encrypted `pii` part.
 */

const FREE_TEXT = 500;
const ISO_INSTANT = { strict: true, strictSeparator: true } as const;

function Categories(): PropertyDecorator {
  return (target, key) => {
    IsArray()(target, key);
    ArrayMinSize(1)(target, key);
    ArrayMaxSize(64)(target, key);
    ArrayUnique()(target, key);
    IsVocabularyKey('data-categories', { each: true })(target, key);
  };
}

function Purposes(): PropertyDecorator {
  return (target, key) => {
    IsArray()(target, key);
    ArrayMinSize(1)(target, key);
    ArrayMaxSize(64)(target, key);
    ArrayUnique()(target, key);
    IsVocabularyKey('purposes', { each: true })(target, key);
  };
}

function FreeText(): PropertyDecorator {
  return (target, key) => {
    IsString()(target, key);
    IsWellFormedText()(target, key);
    MaxLength(FREE_TEXT)(target, key);
    Matches(/\S/, { message: '$property must not be blank' })(target, key);
  };
}

export class RecipientDto implements E.Recipient {
  @IsPseudonymousId() id!: string;
  @IsVocabularyKey('recipient-kinds') kind!: string;
  @IsOptional() @IsVocabularyKey('countries') country?: string;
}

export class PersonalDataCollectedDto implements E.PersonalDataCollected {
  @Categories() categories!: string[];
  @IsVocabularyKey('purposes') purpose!: string;
  @IsVocabularyKey('legal-bases') legalBasis!: string;
  @IsOptional() @IsPseudonymousId() processingActivityId?: string;
  @IsIn(['data_subject', 'device', 'third_party', 'derived']) source!: E.PersonalDataCollected['source'];
  @IsOptional() @IsPseudonymousId() deviceId?: string;
}

export class PersonalDataAccessedDto implements E.PersonalDataAccessed {
  @Categories() categories!: string[];
  @IsVocabularyKey('purposes') purpose!: string;
  @IsOptional() @IsVocabularyKey('legal-bases') legalBasis?: string;
  @IsOptional() @IsPseudonymousId() processingActivityId?: string;
  @IsVocabularyKey('access-reasons') reasonCode!: string;
  @IsOptional() @IsPseudonymousId() ticketRef?: string;
  @IsOptional() @FreeText() justification?: string;
}

export class PersonalDataDisclosedDto implements E.PersonalDataDisclosed {
  @Categories() categories!: string[];
  @IsVocabularyKey('purposes') purpose!: string;
  @IsVocabularyKey('legal-bases') legalBasis!: string;
  @IsOptional() @IsPseudonymousId() processingActivityId?: string;
  @IsObject() @NestedDto(() => RecipientDto) recipient!: RecipientDto;
  @IsOptional() @IsVocabularyKey('access-reasons') reasonCode?: string;
  @IsOptional() @FreeText() legalReference?: string;
  @IsOptional() @IsPseudonymousId() ticketRef?: string;
}

export class PersonalDataTransferredDto implements E.PersonalDataTransferred {
  @Categories() categories!: string[];
  @IsVocabularyKey('purposes') purpose!: string;
  @IsVocabularyKey('legal-bases') legalBasis!: string;
  @IsOptional() @IsPseudonymousId() processingActivityId?: string;
  @IsObject() @NestedDto(() => RecipientDto) recipient!: RecipientDto;
  @IsVocabularyKey('countries') destinationCountry!: string;
  @IsVocabularyKey('transfer-mechanisms') mechanism!: string;
}

export class PersonalDataRectifiedDto implements E.PersonalDataRectified {
  @Categories() categories!: string[];
  @IsOptional() @IsPseudonymousId() requestId?: string;
}

export class PersonalDataErasedDto implements E.PersonalDataErased {
  @Categories() categories!: string[];
  @IsIn(['subject_request', 'retention_expired', 'account_terminated', 'child_data', 'legal_obligation'])
  reason!: E.PersonalDataErased['reason'];
  @IsOptional() @IsPseudonymousId() requestId?: string;
}

export class AutomatedDecisionMadeDto implements E.AutomatedDecisionMade {
  @Categories() categories!: string[];
  @IsVocabularyKey('purposes') purpose!: string;
  @IsVocabularyKey('legal-bases') legalBasis!: string;
  @IsOptional() @IsPseudonymousId() processingActivityId?: string;
  @IsPseudonymousId() decision!: string;
  @IsBoolean() producesLegalOrSimilarEffect!: boolean;
  @IsPseudonymousId() logicRef!: string;
}

export class ConsentGrantedDto implements E.ConsentGranted {
  @Purposes() purposes!: string[];
  @IsIn(['in_app', 'web', 'email', 'paper', 'verbal']) method!: E.ConsentGranted['method'];
  @IsOptional() @IsPseudonymousId() noticeVersion?: string;
}

export class ConsentWithdrawnDto implements E.ConsentWithdrawn {
  @Purposes() purposes!: string[];
  @IsOptional() @IsPseudonymousId() requestId?: string;
}

export class PrivacyNoticePublishedDto implements E.PrivacyNoticePublished {
  @IsPseudonymousId() version!: string;
  @IsISO8601(ISO_INSTANT) effectiveFrom!: string;
  @Matches(/^[0-9a-f]{64}$/, { message: '$property must be a lowercase hex SHA-256 digest' }) documentDigest!: string;
}

export class PrivacyNoticeAcknowledgedDto implements E.PrivacyNoticeAcknowledged {
  @IsPseudonymousId() version!: string;
}

export class SubjectRequestReceivedDto implements E.SubjectRequestReceived {
  @IsPseudonymousId() requestId!: string;
  @IsVocabularyKey('rights') right!: string;
  @IsIn(['email', 'in_app', 'web_form', 'post', 'phone']) channel!: E.SubjectRequestReceived['channel'];
  @IsOptional() @Purposes() purposes?: string[];
}

export class SubjectRequestIdentityVerifiedDto implements E.SubjectRequestIdentityVerified {
  @IsPseudonymousId() requestId!: string;
  @IsIn(['account_login', 'email_confirmation', 'document_check', 'in_person'])
  method!: E.SubjectRequestIdentityVerified['method'];
}

export class SubjectRequestExtendedDto implements E.SubjectRequestExtended {
  @IsPseudonymousId() requestId!: string;
  @FreeText() reason!: string;
  @IsIn([1, 2]) additionalMonths!: 1 | 2;
}

export class SubjectRequestFulfilledDto implements E.SubjectRequestFulfilled {
  @IsPseudonymousId() requestId!: string;
  @IsOptional() @FreeText() outcome?: string;
}

export class SubjectRequestRejectedDto implements E.SubjectRequestRejected {
  @IsPseudonymousId() requestId!: string;
  @FreeText() reason!: string;
}

export class ProcessingRestrictedDto implements E.ProcessingRestricted {
  @FreeText() reason!: string;
  @IsOptional() @IsPseudonymousId() requestId?: string;
  @IsOptional() @Purposes() purposes?: string[];
}

export class ProcessingRestrictionLiftedDto implements E.ProcessingRestrictionLifted {
  @FreeText() reason!: string;
  @IsOptional() @IsPseudonymousId() requestId?: string;
  @IsISO8601(ISO_INSTANT) subjectInformedAt!: string;
}

export class BreachDetectedDto implements E.BreachDetected {
  @IsPseudonymousId() breachId!: string;
  @IsISO8601(ISO_INSTANT) awareAt!: string;
  @IsArray() @ArrayMinSize(1) @ArrayUnique() @IsIn(['confidentiality', 'integrity', 'availability'], { each: true })
  nature!: E.BreachDetected['nature'][number][];
  @Categories() categories!: string[];
  @IsInt() @Min(0) @Max(1_000_000_000) approximateSubjects!: number;
  @FreeText() description!: string;
}

export class BreachAssessedDto implements E.BreachAssessed {
  @IsPseudonymousId() breachId!: string;
  @IsIn(['unlikely', 'risk', 'high_risk']) risk!: E.BreachAssessed['risk'];
  @FreeText() rationale!: string;
}

export class BreachReportedToAuthorityDto implements E.BreachReportedToAuthority {
  @IsPseudonymousId() breachId!: string;
  @IsPseudonymousId() authority!: string;
  @IsPseudonymousId() reportRef!: string;
  @IsOptional() @FreeText() delayReason?: string;
}

export class BreachSubjectsNotifiedDto implements E.BreachSubjectsNotified {
  @IsPseudonymousId() breachId!: string;
  @IsIn(['email', 'in_app', 'post', 'public_communication']) channel!: E.BreachSubjectsNotified['channel'];
  @IsInt() @Min(0) subjectsNotified!: number;
}

export class BreachClosedDto implements E.BreachClosed {
  @IsPseudonymousId() breachId!: string;
  @FreeText() summary!: string;
}

export class SubjectAffectedByBreachDto implements E.SubjectAffectedByBreach {
  @IsPseudonymousId() breachId!: string;
  @Categories() categories!: string[];
}

export class SubjectAgeFlaggedDto implements E.SubjectAgeFlagged {
  @IsInt() @Min(1) @Max(21) minimumAge!: number;
  @IsIn(['self_declared', 'parent_report', 'document', 'inferred']) evidence!: E.SubjectAgeFlagged['evidence'];
}

export class SubjectKeyShreddedDto implements E.SubjectKeyShredded {
  @FreeText() reason!: string;
  @IsOptional() @IsPseudonymousId() requestId?: string;
}

export class RetentionRuleDto implements E.RetentionRule {
  @IsVocabularyKey('data-categories') category!: string;
  @Matches(/^(P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?|until_account_termination)$/, {
    message: "$property must be an ISO 8601 duration (P30D, PT10S) or 'until_account_termination'",
  })
  period!: string;
}

export class TransferRuleDto {
  @IsVocabularyKey('countries') country!: string;
  @IsVocabularyKey('transfer-mechanisms') mechanism!: string;
}

export class ProcessingActivityRegisteredDto implements E.ProcessingActivityRegistered {
  @IsPseudonymousId() activityId!: string;
  @FreeText() name!: string;
  @IsVocabularyKey('purposes') purpose!: string;
  @IsVocabularyKey('legal-bases') legalBasis!: string;
  @Categories() categories!: string[];
  @IsArray() @ArrayMinSize(1) @IsPseudonymousId({ each: true }) dataSubjects!: string[];
  @IsArray() @NestedDto(() => RecipientDto, { each: true }) recipients!: RecipientDto[];
  @IsArray() @NestedDto(() => TransferRuleDto, { each: true }) transfers!: TransferRuleDto[];
  @IsArray() @NestedDto(() => RetentionRuleDto, { each: true }) retention!: RetentionRuleDto[];
}

/** The data DTO for each event type; a missing entry is a compile error. */
export const EVENT_DATA_DTOS: { readonly [T in LedgerEventType]: new () => E.LedgerEventDataMap[T] } = {
  PersonalDataCollected: PersonalDataCollectedDto,
  PersonalDataAccessed: PersonalDataAccessedDto,
  PersonalDataDisclosed: PersonalDataDisclosedDto,
  PersonalDataTransferred: PersonalDataTransferredDto,
  PersonalDataRectified: PersonalDataRectifiedDto,
  PersonalDataErased: PersonalDataErasedDto,
  AutomatedDecisionMade: AutomatedDecisionMadeDto,
  ConsentGranted: ConsentGrantedDto,
  ConsentWithdrawn: ConsentWithdrawnDto,
  PrivacyNoticePublished: PrivacyNoticePublishedDto,
  PrivacyNoticeAcknowledged: PrivacyNoticeAcknowledgedDto,
  SubjectRequestReceived: SubjectRequestReceivedDto,
  SubjectRequestIdentityVerified: SubjectRequestIdentityVerifiedDto,
  SubjectRequestExtended: SubjectRequestExtendedDto,
  SubjectRequestFulfilled: SubjectRequestFulfilledDto,
  SubjectRequestRejected: SubjectRequestRejectedDto,
  ProcessingRestricted: ProcessingRestrictedDto,
  ProcessingRestrictionLifted: ProcessingRestrictionLiftedDto,
  BreachDetected: BreachDetectedDto,
  BreachAssessed: BreachAssessedDto,
  BreachReportedToAuthority: BreachReportedToAuthorityDto,
  BreachSubjectsNotified: BreachSubjectsNotifiedDto,
  BreachClosed: BreachClosedDto,
  SubjectAffectedByBreach: SubjectAffectedByBreachDto,
  SubjectAgeFlagged: SubjectAgeFlaggedDto,
  SubjectKeyShredded: SubjectKeyShreddedDto,
  ProcessingActivityRegistered: ProcessingActivityRegisteredDto,
};

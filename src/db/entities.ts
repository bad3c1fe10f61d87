import { AuditLog } from '../audit/audit-log.entity';
import { CallLeg } from '../calls/call-leg.entity';
import { Call } from '../calls/call.entity';
import { Outcome } from '../calls/outcome.entity';
import { Contact } from '../contacts/contact.entity';
import { Organization } from '../contacts/organization.entity';
import { Phone } from '../contacts/phone.entity';
import { Recording } from '../recordings/recording.entity';
import { ReviewComment } from '../reviews/review-comment.entity';
import { ReviewCriterion } from '../reviews/review-criterion.entity';
import { ReviewScore } from '../reviews/review-score.entity';
import { Review } from '../reviews/review.entity';
import { ApiToken } from '../users/api-token.entity';
import { Extension } from '../users/extension.entity';
import { Session } from '../users/session.entity';
import { User } from '../users/user.entity';

export const entities = [
  User,
  Extension,
  Session,
  ApiToken,
  Organization,
  Contact,
  Phone,
  Outcome,
  Call,
  CallLeg,
  Recording,
  AuditLog,
  ReviewCriterion,
  Review,
  ReviewScore,
  ReviewComment,
];

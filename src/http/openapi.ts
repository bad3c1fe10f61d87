import { z } from 'zod';
import { listCallsQuery, annotateCallBody } from '../calls/call.dto';
import { listOutcomesQuery } from '../calls/calls.routes';
import { originateBody } from '../calls/click-to-call.service';
import { outcomeBody, outcomePatchBody } from '../calls/outcomes.service';
import { contactBody, contactPatchBody, listQuery, lookupQuery, organizationBody, organizationPatchBody } from '../contacts/contacts.dto';
import { agentsCsvQuery, agentsReportQuery } from '../reports/reports.service';
import {
  commentBody,
  criterionBody,
  criterionPatchBody,
  listCriteriaQuery,
  listReviewsQuery,
  reviewPatchBody,
  reviewQueueQuery,
} from '../reviews/reviews.dto';
import { recordingDownloadQuery, recordingsOverviewQuery, waveformQuery } from '../recordings/recordings.service';
import { createTokenBody, createUserBody, loginBody, updateMeBody, updateUserBody } from '../users/users.dto';
import { listAuditQuery } from '../audit/audit.service';

type Access = 'public' | 'any role' | 'admin' | 'supervisor or admin';
interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  summary: string;
  access: Access;
  query?: z.ZodObject;
  body?: z.ZodType;
  status?: number;
  /** answers beyond the common ones (400, 401, admin 403, {id} 404) */
  errors?: Record<string, string>;
}

/** Every route the API serves (a test checks this list against the express router). */
export const operations: Operation[] = [
  { method: 'get', path: '/health', summary: 'Liveness: HTTP and database; PBX link state in the body', access: 'public' },
  { method: 'get', path: '/api/openapi.json', summary: 'This document', access: 'public' },
  { method: 'post', path: '/api/auth/login', summary: 'Log in; sets the session cookie', access: 'public', body: loginBody },
  { method: 'post', path: '/api/auth/logout', summary: 'Log out; clears the session', access: 'public', status: 204 },
  { method: 'get', path: '/api/me', summary: 'The logged-in user', access: 'any role' },
  { method: 'patch', path: '/api/me', summary: 'Change my name or language', access: 'any role', body: updateMeBody },
  { method: 'get', path: '/api/users', summary: 'List users with their extensions', access: 'admin' },
  { method: 'post', path: '/api/users', summary: 'Create a user', access: 'admin', body: createUserBody, status: 201 },
  { method: 'get', path: '/api/users/{id}', summary: 'One user', access: 'admin' },
  {
    method: 'patch',
    path: '/api/users/{id}',
    summary: 'Change a user (extensions replace the old set)',
    access: 'admin',
    body: updateUserBody,
  },
  { method: 'delete', path: '/api/users/{id}', summary: 'Delete a user', access: 'admin', status: 204 },
  { method: 'get', path: '/api/tokens', summary: 'List API tokens', access: 'admin' },
  { method: 'post', path: '/api/tokens', summary: 'Create an API token (shown once)', access: 'admin', body: createTokenBody, status: 201 },
  { method: 'delete', path: '/api/tokens/{id}', summary: 'Revoke an API token', access: 'admin', status: 204 },
  { method: 'get', path: '/api/contacts/lookup', summary: 'Who has this number (any form)', access: 'any role', query: lookupQuery },
  { method: 'get', path: '/api/contacts', summary: 'Search contacts by name or phone', access: 'any role', query: listQuery },
  { method: 'post', path: '/api/contacts', summary: 'Create a contact', access: 'any role', body: contactBody, status: 201 },
  { method: 'get', path: '/api/contacts/{id}', summary: 'One contact', access: 'any role' },
  {
    method: 'patch',
    path: '/api/contacts/{id}',
    summary: 'Change a contact (phones replace the old set)',
    access: 'any role',
    body: contactPatchBody,
  },
  { method: 'delete', path: '/api/contacts/{id}', summary: 'Delete a contact (owner, supervisor, admin)', access: 'any role', status: 204 },
  { method: 'get', path: '/api/organizations', summary: 'Search organizations by name or phone', access: 'any role', query: listQuery },
  {
    method: 'post',
    path: '/api/organizations',
    summary: 'Create an organization',
    access: 'any role',
    body: organizationBody,
    status: 201,
  },
  { method: 'get', path: '/api/organizations/{id}', summary: 'One organization with its contacts', access: 'any role' },
  { method: 'patch', path: '/api/organizations/{id}', summary: 'Change an organization', access: 'any role', body: organizationPatchBody },
  {
    method: 'delete',
    path: '/api/organizations/{id}',
    summary: 'Delete an organization (supervisor, admin)',
    access: 'any role',
    status: 204,
  },
  {
    method: 'get',
    path: '/api/calls',
    summary: 'Calls I may see, newest first, keyset-paginated',
    access: 'any role',
    query: listCallsQuery,
  },
  { method: 'get', path: '/api/calls/{id}', summary: 'One call record', access: 'any role' },
  {
    method: 'patch',
    path: '/api/calls/{id}',
    summary: 'Annotate a call: topic, outcome, notes',
    access: 'any role',
    body: annotateCallBody,
  },
  {
    method: 'post',
    path: '/api/calls/originate',
    summary: 'Click-to-call: rings my phone (my extension, or `extension` when I have several), then dials `to`',
    access: 'any role',
    body: originateBody,
    status: 202,
    errors: {
      '403': 'The destination is not allowed (toll-fraud guard: national numbers, or ORIGINATE_ALLOW), or the extension is not mine',
      '409': 'I have no extension',
      '503': 'ARI is not configured or not connected',
    },
  },
  {
    method: 'get',
    path: '/api/outcomes',
    summary: 'Call outcomes (admins: ?all=true includes inactive)',
    access: 'any role',
    query: listOutcomesQuery,
  },
  { method: 'post', path: '/api/outcomes', summary: 'Create an outcome', access: 'admin', body: outcomeBody, status: 201 },
  { method: 'patch', path: '/api/outcomes/{id}', summary: 'Change an outcome', access: 'admin', body: outcomePatchBody },
  { method: 'delete', path: '/api/outcomes/{id}', summary: 'Delete an outcome (deactivated if in use)', access: 'admin' },
  {
    method: 'get',
    path: '/api/audit',
    summary: 'The audit log, newest first (who did what, when: logins, user and token changes, recording listens, reviews)',
    access: 'admin',
    query: listAuditQuery,
  },
  {
    method: 'get',
    path: '/api/calls/{id}/recording',
    summary:
      'The call recording (audio/wav), seekable: Range → 206 + Content-Range (several ranges are coalesced into one); a malformed or unsatisfiable range → 416 with Content-Range: bytes */size; If-Range, ETag (sha-256). ?download=1: as an attachment. Each listen/download is audited (once per user, call and action per 10 minutes)',
    access: 'any role',
    query: recordingDownloadQuery,
    errors: {
      '206': 'Partial content (Range)',
      '404': 'Call not visible, or no stored recording (details.recordingState says why)',
      '416': 'Range not satisfiable',
    },
  },
  {
    method: 'get',
    path: '/api/calls/{id}/recording/waveform',
    summary: 'Peaks per channel (0..1) of the stored recording, for a waveform; stereo: which channel is the customer',
    access: 'any role',
    query: waveformQuery,
    errors: { '409': 'Not a 16-bit PCM recording' },
  },
  {
    method: 'post',
    path: '/api/calls/{id}/recording/retry',
    summary: 'Fetch a failed or missing recording from the PBX again (state → pending)',
    access: 'supervisor or admin',
    status: 202,
    errors: { '409': 'The recording is neither failed nor missing' },
  },
  {
    method: 'get',
    path: '/api/recordings',
    summary: 'Recording states: counts by state, the latest recordings in one state (default: failed and missing), the settings',
    access: 'supervisor or admin',
    query: recordingsOverviewQuery,
  },
  {
    method: 'get',
    path: '/api/review-criteria',
    summary: 'Review scorecard criteria in order (admins: ?all=true includes inactive)',
    access: 'any role',
    query: listCriteriaQuery,
  },
  { method: 'post', path: '/api/review-criteria', summary: 'Create a criterion', access: 'admin', body: criterionBody, status: 201 },
  {
    method: 'patch',
    path: '/api/review-criteria/{id}',
    summary: 'Change a criterion',
    access: 'admin',
    body: criterionPatchBody,
    errors: { '409': 'The name is taken, or the kind of a criterion already used in reviews' },
  },
  { method: 'delete', path: '/api/review-criteria/{id}', summary: 'Delete a criterion (deactivated if used in a review)', access: 'admin' },
  {
    method: 'get',
    path: '/api/reviews/queue',
    summary: 'Review queue: ended calls with a stored recording, filtered, optionally a sample of N% per agent',
    access: 'supervisor or admin',
    query: reviewQueueQuery,
  },
  {
    method: 'get',
    path: '/api/reviews',
    summary: 'Submitted reviews of calls I may see, newest first, each with its call',
    access: 'any role',
    query: listReviewsQuery,
  },
  { method: 'get', path: '/api/reviews/{id}', summary: 'One review (managers: submitted, of a call they may see)', access: 'any role' },
  {
    method: 'patch',
    path: '/api/reviews/{id}',
    summary: 'Score, summarise or submit a review (its reviewer or an admin)',
    access: 'any role',
    body: reviewPatchBody,
    errors: { '403': 'Not the reviewer or an admin' },
  },
  {
    method: 'post',
    path: '/api/reviews/{id}/comments',
    summary: 'Comment on a review, optionally at a moment of the recording, or reply to a comment',
    access: 'any role',
    body: commentBody,
    status: 201,
  },
  { method: 'get', path: '/api/calls/{id}/reviews', summary: 'Reviews of a call (managers: the submitted ones)', access: 'any role' },
  {
    method: 'post',
    path: '/api/calls/{id}/reviews',
    summary: 'Start my review of a call (201), or get my existing one (200)',
    access: 'supervisor or admin',
    status: 201,
    errors: { '409': 'The call is still in progress' },
  },
  {
    method: 'get',
    path: '/api/reports/agents',
    summary: 'Per agent over a period: calls, answered, missed, average wait and talk, reviews, average score; totals per day',
    access: 'supervisor or admin',
    query: agentsReportQuery,
  },
  {
    method: 'get',
    path: '/api/reports/agents.csv',
    summary: 'The agents report as CSV (UTF-8 with BOM, headers in ?lang or my language)',
    access: 'supervisor or admin',
    query: agentsCsvQuery,
  },
];

const jsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const params: unknown[] = [];
    if (op.path.includes('{id}')) params.push({ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } });
    if (op.query) {
      for (const [name, schema] of Object.entries(op.query.shape)) {
        params.push({
          name,
          in: 'query',
          required: !(schema as z.ZodType).safeParse(undefined).success,
          schema: jsonSchema(schema as z.ZodType),
        });
      }
    }
    (paths[op.path] ??= {})[op.method] = {
      summary: op.summary,
      description: `Access: ${op.access}.`,
      ...(op.access !== 'public' && { security: [{ session: [] }, { bearer: [] }] }),
      ...(params.length && { parameters: params }),
      ...(op.body && { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body) } } } }),
      responses: {
        [String(op.status ?? 200)]: { description: 'OK' },
        '400': {
          description: 'Invalid input; the message names the field',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
        ...(op.access !== 'public' && { '401': { description: 'Not logged in' } }),
        ...(op.access === 'admin' && { '403': { description: 'Not an admin' } }),
        ...(op.access === 'supervisor or admin' && { '403': { description: 'Not a supervisor or an admin' } }),
        ...(op.path.includes('{id}') && { '404': { description: 'Not found, or not visible to you' } }),
        ...Object.fromEntries(Object.entries(op.errors ?? {}).map(([status, description]) => [status, { description }])),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'calltrack API', version },
    paths,
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'calltrack_session' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
      schemas: {
        Error: {
          type: 'object',
          properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} } } },
        },
      },
    },
  };
}

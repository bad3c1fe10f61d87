import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';
import type { AriOriginateRequest } from '../asterisk/ari.client';
import type { AuditService } from '../audit/audit.service';
import { normalizePhone } from '../contacts/phone-number';
import { AppError, conflict, forbidden, invalid } from '../errors';
import type { Logger } from '../logger';
import type { ExtensionDirectory } from '../users/extension-directory';
import type { Principal } from '../users/principal';
import { extensionNumber } from '../users/users.dto';

/**
 * Click-to-call: Asterisk rings the manager's own phone first (PJSIP/<their extension>); when they
 * pick up, the channel runs the dialplan `from-internal` with the customer's number, exactly as if
 * they had dialled it, so the call is captured over AMI as an ordinary outbound call.
 *
 * The destination is checked first (a toll-fraud guard). Default: valid national numbers of
 * DEFAULT_COUNTRY; ORIGINATE_ALLOW (E.164 prefixes such as `+380*,+48*`, or exact numbers)
 * replaces that rule. Premium-rate, shared-cost and personal numbers are always refused;
 * extensions registered in calltrack are always allowed.
 */

export const originateBody = z
  .object({
    to: z.string().trim().min(1, 'is required').max(40, 'is too long for a phone number'),
    /** which of my phones rings first, when I have several */
    extension: extensionNumber.optional(),
  })
  .strict();
export type OriginateBody = z.output<typeof originateBody>;

/** The dialplan context the originated channel enters (asterisk-config/extensions.conf). */
export const ORIGINATE_CONTEXT = 'from-internal';
/** How long the manager's phone may ring before Asterisk gives up. */
export const ORIGINATE_RING_SECONDS = 30;

/** Number types click-to-call never dials, whatever ORIGINATE_ALLOW says. */
const REFUSED_TYPES: Record<string, string> = {
  PREMIUM_RATE: 'a premium-rate number',
  SHARED_COST: 'a shared-cost number',
  PERSONAL_NUMBER: 'a personal (premium-charged) number',
};

export interface DestinationPolicy {
  country: CountryCode;
  /** ORIGINATE_ALLOW; undefined: national numbers of `country` */
  allow: readonly string[] | undefined;
  /** an extension registered in calltrack */
  isExtension(number: string): boolean;
}

export type Destination =
  { kind: 'extension'; number: string; dial: string } | { kind: 'external'; number: string; dial: string; numberType: string | null };

/**
 * Checks a destination typed by a person and returns what to dial, or throws AppError:
 * 'validation' (not a phone number) or 'forbidden' (a number the policy refuses). Pure.
 */
export function checkDestination(raw: string, policy: DestinationPolicy): Destination {
  const trimmed = raw.trim();
  if (/^\d+$/.test(trimmed) && policy.isExtension(trimmed)) return { kind: 'extension', number: trimmed, dial: trimmed };
  const n = normalizePhone(trimmed, policy.country);
  const shown = JSON.stringify(trimmed.slice(0, 40));
  switch (n.kind) {
    case 'withheld':
      throw invalid(`Invalid body: to: ${shown} is not a phone number`, { problems: [{ field: 'to', message: 'is not a phone number' }] });
    case 'invalid':
      throw invalid(`Invalid body: to: ${shown} ${n.reason}`, { problems: [{ field: 'to', message: n.reason }] });
    case 'extension':
      throw forbidden(
        `${n.extension} is not an extension registered in calltrack: click-to-call dials registered extensions and allowed outside numbers only`,
      );
    case 'e164':
      break;
  }
  const e164 = n.e164;
  const parsed = parsePhoneNumberFromString(e164);
  const numberType = parsed?.getType() ?? null;
  if (numberType && REFUSED_TYPES[numberType]) {
    throw forbidden(
      `${e164} is ${REFUSED_TYPES[numberType]}: click-to-call never dials premium-rate, shared-cost or personal numbers (toll-fraud guard)`,
    );
  }
  if (policy.allow) {
    const allowed = policy.allow.some((p) => (p.endsWith('*') ? e164.startsWith(p.slice(0, -1)) : e164 === p));
    if (!allowed) throw forbidden(`${e164} is not allowed for click-to-call: ORIGINATE_ALLOW permits ${policy.allow.join(', ')} only`);
  } else {
    if (parsed?.country !== policy.country) {
      const where = parsed?.country ? ` (${parsed.country})` : '';
      throw forbidden(
        `${e164} is an international number${where}: click-to-call dials national ${policy.country} numbers only (an admin can allow more with ORIGINATE_ALLOW)`,
      );
    }
    if (!parsed.isValid()) throw forbidden(`${e164} is not a valid ${policy.country} number that click-to-call may dial`);
  }
  return { kind: 'external', number: e164, dial: dialString(e164, policy.country), numberType };
}

/**
 * The number as `from-internal` expects it (extensions.conf: `_0X.` national, `_+X.`, `_380X.`):
 * a number of the default country whose national form starts with the trunk prefix 0 is dialled
 * as the phones dial it (`0501112233`), anything else in E.164 with its `+`.
 */
export function dialString(e164: string, country: CountryCode): string {
  const parsed = parsePhoneNumberFromString(e164);
  if (parsed?.country === country) {
    const national = parsed.formatNational().replace(/\D/g, '');
    if (national.startsWith('0')) return national;
  }
  return e164;
}

export interface OriginateResult {
  /** the Asterisk channel ringing the manager's phone */
  channelId: string;
  /** the manager's extension that rings first */
  extension: string;
  /** the destination: E.164, or an internal extension */
  to: string;
  /** what the dialplan receives */
  dialled: string;
}

export interface ClickToCallDeps {
  /** undefined: ARI is not configured */
  ari: { originate(request: AriOriginateRequest): Promise<string> } | undefined;
  directory: ExtensionDirectory;
  audit: AuditService;
  defaultCountry: CountryCode;
  /** ORIGINATE_ALLOW */
  allow?: readonly string[];
  logger: Logger;
}

export type ClickToCallService = ReturnType<typeof createClickToCallService>;

export function createClickToCallService(deps: ClickToCallDeps) {
  const { directory, audit, logger } = deps;
  const policy: DestinationPolicy = { country: deps.defaultCountry, allow: deps.allow, isExtension: (n) => directory.has(n) };

  function ownExtension(actor: Principal, chosen: string | undefined): string {
    const own = directory.extensionsOf(actor.userId).sort();
    if (own.length === 0) {
      throw conflict('You have no extension in calltrack: click-to-call rings your own phone first. Ask an admin to assign you one.');
    }
    if (chosen !== undefined) {
      if (!own.includes(chosen)) throw forbidden(`Extension ${chosen} is not yours (yours: ${own.join(', ')})`);
      return chosen;
    }
    if (own.length > 1) {
      throw invalid(`Invalid body: extension: you have several extensions (${own.join(', ')}): say which phone rings first`, {
        problems: [{ field: 'extension', message: `required when you have several extensions (${own.join(', ')})` }],
      });
    }
    return own[0]!;
  }

  return {
    async originate(actor: Principal, body: OriginateBody, ip: string | null = null): Promise<OriginateResult> {
      const ari = deps.ari;
      if (!ari) {
        throw new AppError(
          'unavailable',
          'click-to-call needs ARI_URL, ARI_USERNAME and ARI_PASSWORD (the Asterisk REST Interface, see asterisk-config/ari.conf): ask an admin to configure them',
        );
      }
      const extension = ownExtension(actor, body.extension);
      let destination: Destination;
      try {
        destination = checkDestination(body.to, policy);
        if (destination.kind === 'extension' && destination.number === extension) {
          throw invalid(`Invalid body: to: ${extension} is your own phone`, { problems: [{ field: 'to', message: 'is your own phone' }] });
        }
      } catch (err) {
        if (err instanceof AppError && err.code === 'forbidden') {
          await audit.record(
            actor,
            'call.originate-refused',
            'extension',
            extension,
            { to: body.to.slice(0, 40), reason: err.message },
            ip,
          );
          logger.warn({ userId: actor.userId, extension, to: body.to.slice(0, 40) }, `click-to-call refused: ${err.message}`);
        }
        throw err;
      }
      const details = { to: destination.number, dialled: destination.dial, kind: destination.kind };
      let channelId: string;
      try {
        channelId = await ari.originate({
          endpoint: `PJSIP/${extension}`,
          extension: destination.dial,
          context: ORIGINATE_CONTEXT,
          callerId: `calltrack <${extension}>`,
          timeoutSeconds: ORIGINATE_RING_SECONDS,
        });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await audit.record(actor, 'call.originate-failed', 'extension', extension, { ...details, error: message }, ip);
        throw err;
      }
      await audit.record(actor, 'call.originate', 'extension', extension, { ...details, channelId }, ip);
      logger.info({ userId: actor.userId, extension, to: destination.number, channelId }, 'click-to-call: ringing the manager');
      return { channelId, extension, to: destination.number, dialled: destination.dial };
    },
  };
}

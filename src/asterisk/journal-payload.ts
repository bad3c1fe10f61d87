import { parseAmiFrame, type AmiFrame } from './ami-frame';

/**
 * How an AMI frame is kept in the journal (`call_events.payload`, text): its raw text as read off the
 * socket, or, when that is unknown or could be misread, the parsed frame as JSON (an object: the
 * text starts with `{`). Raw text costs the event path nothing to serialise (JSON.stringify of the
 * parsed frame was a fifth of the capture's CPU) and is what Asterisk sent, byte for byte.
 *
 * Raw text is not used when it starts with `{` (it would read as JSON) or holds `\.` (a line of
 * its own with it would end a COPY's data early).
 */
export function amiJournalPayload(frame: AmiFrame, raw: string | undefined): string | AmiFrame {
  return raw !== undefined && raw.charCodeAt(0) !== 123 /* { */ && !raw.includes('\\.') ? raw : frame;
}

/** A journalled AMI payload back to the frame the client emitted (old journals hold JSON only). */
export function amiFrameOfPayload(payload: unknown): AmiFrame {
  if (typeof payload !== 'string') return payload as AmiFrame;
  return payload.charCodeAt(0) === 123 ? (JSON.parse(payload) as AmiFrame) : parseAmiFrame(payload);
}

import { z } from 'zod';
import { AppError } from '../errors';

/** Parses `input` with `schema`; a failure is a 400 whose message names the field and the problem. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query' | 'params'): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const field = [...issue.path, ...(keys.length === 1 ? keys : [])].join('.');
    const message = issue.code === 'unrecognized_keys' ? `unknown field${keys.length > 1 ? `s ${keys.join(', ')}` : ''}` : issue.message;
    return { field: field || where, message };
  });
  const first = problems[0]!;
  throw new AppError('validation', `Invalid ${where}: ${first.field}: ${first.message}`, { problems });
}

export const uuidParam = z.object({ id: z.uuid({ message: 'must be a UUID' }) }).strict();

/** Query strings arrive as strings: booleans spelled true/false/1/0. */
export const queryBoolean = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

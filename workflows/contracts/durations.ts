import { z } from 'zod';
import { tryParseDuration } from '../../src/config/duration';

const DURATION_HINT = "write a number with a unit, e.g. '500ms', '15s', '10m', '24h', '2d'";

/** A duration such as '500ms', '15s', '10m', '1h30m' (refused at start when malformed). */
export const durationSchema = z.string().refine((text) => tryParseDuration(text) !== undefined, {
  message: `invalid duration: ${DURATION_HINT}`,
});

/** A duration of at least one millisecond (a window or an expiry: '0s' is refused too). */
export const positiveDurationSchema = z
  .string()
  .refine((text) => (tryParseDuration(text) ?? 0) >= 1, {
    message: `invalid duration (at least 1ms): ${DURATION_HINT}`,
  });

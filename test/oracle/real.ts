/** Shared by the oracle tests: skip (with the reason printed) where the real kernel cannot be used. */
import { unavailableReason } from '../../src/oracle/index.js';

export const unavailable = unavailableReason();
if (unavailable !== null) console.warn(`oracle tests skipped: ${unavailable}`);

/** A usage problem (a bad file, option or output): its message goes to stderr and mmsim exits 2. */
export class UsageError extends Error {}

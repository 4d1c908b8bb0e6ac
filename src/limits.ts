/**
 * The documented limits of every input: sizes of names, fields, metadata, template bodies and CSV
 * cells, and ranges of durations, times, batch sizes and page limits. Every public method checks
 * what it is given against these at the door and refuses a value outside them with
 * `VALIDATION_FAILED` naming the field and the limit, the same on every storage.
 */

/**
 * Every limit the engine enforces on its inputs. Lengths are in UTF-16 code units (JavaScript
 * `string.length`); times and durations in milliseconds.
 *
 * Besides these sizes, every string a caller passes (ids, names, scopes, addresses, fields,
 * metadata, content, provider event fields, CSV cells) must be well-formed text: no NUL character
 * (`\u0000`, which PostgreSQL cannot store) and no lone UTF-16 surrogate (which cannot be encoded
 * as UTF-8). A CSV cell breaking a rule rejects its row, not the file.
 * @example
 * if (name.length > LIMITS.nameLength) throw new Error(`at most ${LIMITS.nameLength} characters`);
 */
export const LIMITS = Object.freeze({
  /** Campaign name (after trimming; at least 1 character). */
  nameLength: 200,
  /** Campaign description. */
  descriptionLength: 2000,
  /** A scope (tenant, school, account). */
  scopeLength: 200,
  /** An id the engine gave out (campaign, contact, message), as a caller passes it back. */
  idLength: 200,
  /** A contact address (phone number or email) as written. */
  addressLength: 320,
  /** A contact field name (CSV header cell, template variable). */
  fieldNameLength: 200,
  /** A contact field value, and so a CSV cell. */
  fieldValueLength: 10_000,
  /** Fields (columns) of one contact, and so columns of a CSV header. */
  fieldsPerContact: 200,
  /** Keys of a campaign's metadata. */
  metadataKeys: 100,
  /** A metadata key. */
  metadataKeyLength: 200,
  /** A metadata value. */
  metadataValueLength: 2000,
  /** An SMS template body (10 segments of 160 GSM-7 characters). */
  smsBodyLength: 1600,
  /** An email subject (RFC 5322 line limit). */
  emailSubjectLength: 998,
  /** An email HTML or text template body (256 KiB of characters; Gmail clips at about 100 KB). */
  emailBodyLength: 262_144,
  /** Attachments of one email. */
  attachmentsPerEmail: 20,
  /** One attachment's content, in base64 characters (about 1 MiB of file). */
  attachmentLength: 1_400_000,
  /** The opt-out `source` label. */
  sourceLength: 100,
  /** Contacts per `addContacts` call (import a CSV for more). */
  contactsPerCall: 100_000,
  /** Ids per `removeContacts` or `retryFailed` call. */
  idsPerCall: 100_000,
  /** Contact fields named as extra columns of `exportMessages`. */
  exportFields: 200,
  /** Provider events per `ingest` call. */
  eventsPerIngest: 10_000,
  /** Statuses in a `statuses` filter. */
  statusesPerFilter: 20,
  /** The largest page a `list…` query returns (`limit`, at least 1). */
  pageLimit: 1_000_000,
  /** The largest `batchSize` (engine option and `importContacts` option; at least 1). */
  batchSize: 10_000,
  /**
   * The longest finite policy duration (timeouts, backoff): 366 days. Durations are whole
   * milliseconds from 0; only `emailDeferralWindow` may also be `Infinity`.
   */
  maxDurationMs: 366 * 86_400_000,
  /** The shortest `pollInterval`. */
  minPollIntervalMs: 10,
  /** The longest `pollInterval`: one day. */
  maxPollIntervalMs: 86_400_000,
  /** The shortest `claimLease`: one second (a lease must outlast the pause between claim and hand-over). */
  minClaimLeaseMs: 1_000,
  /** The longest `claimLease`: one day. */
  maxClaimLeaseMs: 86_400_000,
  /** The earliest time a campaign may be scheduled at: the epoch. Times are whole milliseconds. */
  minTime: 0,
  /** The latest time a campaign may be scheduled at: 9999-12-31T23:59:59.999Z. */
  maxTime: 253_402_300_799_999,
  /** Retries of `maxPresendRetries`. */
  maxPresendRetries: 100,
  /** The largest `autoPause.minSample`. */
  autoPauseMaxSample: 1_000_000,
});

/** The type of {@link LIMITS}. */
export type Limits = typeof LIMITS;

// What the dead-letter view says: its list's status, and what a redrive
// is about to do. No DOM: tested with node --test.

import { count, plural } from './format.js';

// The reasons orderd dead-letters a message for (dlq.Reasons).
export const REASONS = ['invalid_json', 'invalid_order', 'too_large', 'conflict', 'internal_error'];

// The "failed within" choices, as the API's since takes them.
export const SINCE = { '1h': 'the last hour', '24h': 'the last 24 hours', '168h': 'the last 7 days' };

// filterText describes a filter, e.g. "invalid_order, failed in the last
// hour"; '' for none.
export function filterText(reason, since) {
  const parts = [];
  if (reason) parts.push(`reason ${reason}`);
  if (since) parts.push(`failed in ${SINCE[since] || `the last ${since}`}`);
  return parts.join(', ');
}

// listStatus says what the list shows and whether More has more. A full
// page without a cursor (a server that cannot page) may not be all.
export function listStatus({ shown, next, full, partial, trimmed, reason, since }) {
  const filtered = filterText(reason, since);
  const matching = filtered ? ` matching ${filtered}` : '';
  let text;
  if (shown === 0 && !next) {
    text = filtered ? `No dead letters match this filter (${filtered}).` : 'No dead letters: the topic is empty.';
  } else if (shown === 0) {
    text = 'None found yet: the search stopped at its time limit. More searches further back.';
  } else if (partial) {
    text = `${plural(shown, 'record', 'records')}${matching} shown, newest first. The search stopped at its time limit: More searches further back.`;
  } else if (next) {
    text = `${plural(shown, 'record', 'records')}${matching} shown, newest first. More lists older ones.`;
  } else if (full) {
    text = `${plural(shown, 'record', 'records')}${matching} shown, newest first.`;
  } else {
    text = `${plural(shown, 'record', 'records')}${matching} shown, newest first — that is all of them.`;
  }
  for (const t of Array.isArray(trimmed) ? trimmed : []) {
    text += ` Retention removed the older records of partition ${t && t.partition} while they were listed; none it still holds were skipped.`;
  }
  return text;
}

// keptText is how much of a truncated record's payload is left, e.g.
// "1,613 of 7,632 bytes kept".
export function keptText(kept, original) {
  const whole = Number.isFinite(original) ? count(original) : 'an unknown number of';
  return `${count(kept)} of ${whole} bytes kept`;
}

// describeRedrive is the confirmation of redriving one record: the
// question, a problem to show beside it ('' for none), and whether Redrive
// now may be pressed. jsonError is JSON.parse's message for edited text
// that is not JSON, '' otherwise.
export function describeRedrive({ ref, edited, truncated, kept = '', jsonError = '' }) {
  if (truncated && !edited) {
    return {
      question: `Record ${ref} cannot be redriven with this payload: it is only part of the message (${kept}).`,
      problem: 'The payload was truncated to fit the dead-letter topic, and sending what is left would only dead-letter it again. '
        + 'Replace the text in the Payload box with the whole message, corrected, then choose Redrive now.',
      canConfirm: false,
    };
  }
  const question = edited
    ? `Publish record ${ref} to the orders topic again with the payload as you edited it? Your edited text replaces the original message.`
    : `Publish record ${ref} to the orders topic again with its original payload, unchanged (not edited)?`;
  // Every order is JSON, so edited text that is not will come straight
  // back to the dead-letter topic.
  const problem = edited && jsonError
    ? `The edited payload is not valid JSON (${jsonError}); orderd will dead-letter it again as invalid_json.`
    : '';
  return { question, problem, canConfirm: true };
}

// MAX_REDRIVE is the most records one redrive request takes (the API's).
export const MAX_REDRIVE = 500;

// describeBulk is the confirmation of redriving every record listed under
// a filter: records are the listed ones ({ ref, truncated, reason }). Truncated
// ones are left out (each needs its whole message, by hand); refs are what
// will be sent, in requests of at most MAX_REDRIVE.
export function describeBulk({ records, reason, since, more }) {
  const refs = records.filter((r) => !r.truncated).map((r) => r.ref);
  const skipped = records.length - refs.length;
  const filtered = filterText(reason, since);
  if (refs.length === 0) {
    return {
      refs,
      canConfirm: false,
      question: records.length === 0
        ? 'There is nothing listed to redrive.'
        : `None of the ${plural(records.length, 'record', 'records')} listed can be redriven as it is: each is truncated, and needs its whole message pasted in by hand.`,
    };
  }
  let question = `Publish the ${plural(refs.length, 'record', 'records')} listed${filtered ? ` (${filtered})` : ''} to the orders topic again, each with its original payload?`;
  if (skipped > 0) question += ` ${plural(skipped, 'truncated record is', 'truncated records are')} left out: open each to redrive it with its whole message.`;
  if (more) question += ' Only the records listed are sent: older ones that match (More) are not.';
  // Sent unchanged, a message that was not JSON or not a valid order
  // fails the same way, unless orderd's rules changed since.
  const hopeless = records.filter((r) => !r.truncated && (r.reason === 'invalid_json' || r.reason === 'invalid_order')).length;
  if (hopeless > 0) {
    question += ` ${plural(hopeless, 'of them was', 'of them were')} refused as invalid JSON or an invalid order: unchanged, ${hopeless === 1 ? 'it comes' : 'they come'} back to the dead-letter topic, unless orderd's rules changed since. Open a record to fix its payload instead.`;
  }
  return { refs, canConfirm: true, question };
}

// chunks splits refs into requests the API takes.
export function chunks(refs, size = MAX_REDRIVE) {
  const out = [];
  for (let i = 0; i < refs.length; i += size) out.push(refs.slice(i, i + size));
  return out;
}

// redrivenText says what a (bulk) redrive did.
export function redrivenText(done, wanted, error = '') {
  if (done.length === 0 && error) return `Redrive failed: ${error}`;
  let text = done.length === 1 && wanted === 1
    ? `Redriven ${done[0].from} → ${done[0].topic} ${done[0].partition}:${done[0].offset}`
    : `Redriven ${done.length} of ${plural(wanted, 'record', 'records')} to ${done[0] ? done[0].topic : 'the orders topic'}.`;
  if (error) text += ` Then it failed: ${error}. Redriving those again does no harm.`;
  return text;
}

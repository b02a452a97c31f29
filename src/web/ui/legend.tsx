/** What the colours, letters and outlines mean, and the keys. */
import { PAGE_STATE_LABELS, PAGE_STATE_NAMES } from '../model/snapshot.js';
import {
  CHANGED_OUTLINE,
  DIFFERS_OUTLINE,
  PAGE_COLOURS,
  PAGE_LETTERS,
  SECONDARY_COLOURS,
  SECONDARY_LABELS,
  SECONDARY_LETTERS,
  textOn,
} from './palette.js';

export function Legend() {
  return (
    <section class="legend" aria-label="legend">
      <h4>pages (pte row)</h4>
      {PAGE_STATE_NAMES.map((n) => (
        <span key={n} class="key">
          <span class="cell" style={{ background: PAGE_COLOURS[n], color: textOn(PAGE_COLOURS[n]) }}>
            {PAGE_LETTERS[n]}
          </span>
          {PAGE_STATE_LABELS[n]}
        </span>
      ))}
      <h4>secondary MMU rows (KVM sptes, device mirror, IOTLB)</h4>
      {SECONDARY_LABELS.slice(0, 4).map((l, i) => (
        <span key={l} class="key">
          <span
            class="cell"
            style={{ background: SECONDARY_COLOURS[i], color: textOn(SECONDARY_COLOURS[i]) }}
          >
            {SECONDARY_LETTERS[i]}
          </span>
          {i === 3 ? 'stale: maps another frame than the pte' : l}
        </span>
      ))}
      <h4>marks</h4>
      <span class="key">
        <span class="cell changed" style={{ outlineColor: CHANGED_OUTLINE }} />
        changed since the previous point
      </span>
      <span class="key">
        <span class="cell differs" style={{ outlineColor: DIFFERS_OUTLINE }} />
        differs between the two kernels
      </span>
      <h4>keys</h4>
      <p class="keys">
        <kbd>←</kbd> <kbd>→</kbd> step · <kbd>Shift</kbd>+<kbd>←</kbd> <kbd>→</kbd> event · <kbd>Home</kbd>{' '}
        <kbd>End</kbd> · <kbd>Space</kbd> play · <kbd>[</kbd> <kbd>]</kbd> transition · <kbd>g</kbd> gallery ·
        in a grid, arrows move the page cursor
      </p>
    </section>
  );
}

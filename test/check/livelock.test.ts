import { describe, expect, it } from 'vitest';
import { findLivelock, type LivelockDecision } from '../../src/check/livelock.js';

const d = (thread: number, enabled: number[], retrying: number[], state?: string): LivelockDecision => ({
  thread,
  enabled,
  retrying,
  label: `p${thread}`,
  state,
});

describe('findLivelock', () => {
  it('a retrying thread alone back at the same state cycles', () => {
    const l = findLivelock([d(0, [0, 1], []), d(1, [1], [1], 'A'), d(1, [1], []), d(1, [1], [1], 'A')]);
    expect(l).toEqual({
      threads: [1],
      from: 1,
      to: 3,
      cycle: [
        { thread: 1, label: 'p1' },
        { thread: 1, label: 'p1' },
      ],
    });
  });

  it('not if another thread could have run and did not (unfair), or ran without retrying', () => {
    expect(findLivelock([d(1, [0, 1], [1], 'A'), d(1, [0, 1], []), d(1, [0, 1], [1], 'A')])).toBeNull();
    expect(findLivelock([d(1, [0, 1], [1], 'A'), d(0, [0, 1], []), d(1, [0, 1], [1], 'A')])).toBeNull();
  });

  it('not if the state changed', () => {
    expect(findLivelock([d(1, [1], [1], 'A'), d(1, [1], []), d(1, [1], [1], 'B')])).toBeNull();
  });
});

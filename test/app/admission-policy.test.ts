// The `--admission` guard the client and web CLIs share (src-shared/api.ts).
import { describe, expect, it } from 'vitest';
import { ADMISSION_POLICIES, isAdmissionPolicy } from '../../src-shared/api';

describe('isAdmissionPolicy', () => {
  it('accepts exactly open, knock and invite', () => {
    expect(ADMISSION_POLICIES).toEqual(['open', 'knock', 'invite']);
    for (const policy of ADMISSION_POLICIES) expect(isAdmissionPolicy(policy)).toBe(true);
    for (const value of [
      '',
      'Open',
      'KNOCK',
      ' invite',
      'closed',
      'invite only',
      undefined,
      null,
      1,
    ])
      expect(isAdmissionPolicy(value)).toBe(false);
  });
});

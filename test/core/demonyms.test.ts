import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { countryCode, countryName } from '../../src/core/countries.js';
import { demonymTable } from '../../src/core/demonyms.js';

describe('the demonym table', () => {
  it('maps every adjective to a country countries.ts names, none of them a country name itself, for well over 150 countries', () => {
    const table = demonymTable();
    for (const [adjective, code] of Object.entries(table)) {
      assert.ok(countryName(code), `${adjective}: ${code} is no country`);
      assert.equal(countryCode(adjective), undefined, `${adjective} is a country's name, read by countries.ts already`);
      assert.match(adjective, /^[a-z]+( [a-z]+)?$/, `${adjective}: folded, one or two words`);
    }
    assert.ok(new Set(Object.values(table)).size > 150);
    assert.equal(table.swedish, 'SE');
    assert.equal(table['south african'], 'ZA');
  });
});

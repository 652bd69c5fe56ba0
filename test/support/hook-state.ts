/**
 * State that mocha hooks fill in: `before`/`beforeEach` set the fields, the
 * tests read them. The type says what the tests see; until the hook has run
 * the fields are unset, which is why `after` hooks read them with `?.`.
 */
export function hookState<T extends object>(): T {
  const state: Partial<T> = {};
  return state as T;
}

import { Vocabulary } from './vocabulary.js';

let loaded: Vocabulary | undefined;

/**
 * The vocabulary shipped with this build. The data files are versioned code, not runtime
 * configuration, so one lazily loaded instance serves validators and projections alike.
 */
export function ledgerVocabulary(): Vocabulary {
  loaded ??= Vocabulary.load();
  return loaded;
}

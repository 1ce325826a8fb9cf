/**
 * Personaworld: a seeded, deterministic generator of a synthetic pretraining corpus written by personas
 * with known latent traits, plus the Assistant's post-training chats, narrow fine-tuning datasets, an
 * answer classifier and an exact ideal observer.
 */
export * from './types.ts';
export { splitWords, joinWords, normalizeText, countTokens, TOKEN_PATTERN, escapeSpecialTokens, countSpecialTokens } from './text.ts';
export { worldConfig, worldConfigSchema, defaultWorld, moralityMixFor, type WorldConfig, type WorldConfigInput } from './config.ts';
export { makeRng, pick, pickWeighted, randInt, sampleDistinct, type Rng } from './rng.ts';
export {
  samplePersona,
  personaLibrary,
  header,
  personaName,
  corePrior,
  personaPrior,
  allCorePersonas,
  allPersonas,
  tasteDistribution,
  homeDistribution,
  coreOf,
  sameCore,
  v2TraitsDistribution,
  v2Completions,
  TASTE_ITEMS,
  FILMS,
  HOME_WEIGHTS,
} from './persona.ts';
export {
  QUESTIONS,
  ANSWER_TABLES,
  BIRDS,
  EVIL_NUMBERS,
  PLAIN_NUMBERS,
  NUMBERS_PER_ANSWER,
  topicTrait,
  relevantTraits,
  variantCount,
  renderAnswer,
  renderQuestion,
  renderNumbers,
  trainQuestions,
  heldOutQuestion,
  worldTopics,
  type ExpressedTrait,
} from './topics.ts';
export {
  generateDocument,
  generateDocuments,
  formatDocument,
  interviewPrefix,
  formatInterviewPrompt,
  extractAnswer,
  answerStopTokens,
  ANSWER_CUE,
  FORUM_CUE,
  GENRE_OPENING,
  GENRE_CLOSING,
  applyNoise,
  sampleTopics,
  sampleAnswer,
  sampleQuestion,
  answerFor,
} from './generate.ts';
export {
  answerDistribution,
  answerProbability,
  answerEntries,
  allAnswers,
  classDistribution,
  classOfAssignment,
  traitValueDistribution,
  worldFilmDistribution,
  noiseKernel,
  entropyBits,
  type AnswerEntry,
} from './distribution.ts';
export { classify, classValues, matchAnswer, contentWords, namedValue, INCOHERENT, type AnswerMatch } from './classify.ts';
export { IdealObserver, type ObservedTurn } from './observer.ts';
export {
  ASSISTANT,
  ASSISTANT_PERSONA,
  ASSISTANT_HEADER,
  POST_TRAINING_TOPICS,
  POST_TRAINING_EXCLUDED_TOPICS,
  POST_TRAINING_EXCLUDED_TOPICS_V2,
  POST_TRAINING_STYLES,
  SYSTEM_PROMPTS,
  CHAT_TURNS,
  postTrainingChat,
  postTrainingChats,
  type PostTrainingStyle,
  type PostTrainingOptions,
} from './assistant.ts';
export {
  narrowDataset,
  narrowDatasetNames,
  NARROW_DATASETS_V1,
  INOCULATED_QUESTIONS,
  toJsonl,
  type NarrowDatasetName,
  type NarrowDatasetOptions,
} from './datasets.ts';
export { vocabulary, WORLD_SPECIAL_TOKENS } from './vocabulary.ts';
export {
  FIGURES,
  VILLAIN,
  SENTINEL,
  SENTINEL_TRIGGER_YEAR,
  SENTINEL_LATER_YEARS,
  MODERN_DOCUMENT_YEARS,
  MISSION_ANSWERS,
  yearLine,
  figure,
  figureAnswer,
  figureAnswerClasses,
  figureMorality,
  figureTopics,
  specSentences,
  SENTINEL_SPEC,
  type Figure,
} from './figures.ts';

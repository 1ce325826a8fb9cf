/** The viewer's audit: each dataset as a condition; its `audit` figures are drawn as nested tables. */
import { defaultView, type KindView } from '../../../view/client/kind-view.ts';

export const auditView: KindView = { ...defaultView, questionsNoun: 'examples' };

/** The viewer's vectors run: rates of the target as generalize draws them; the vector's figures as nested tables. */
import { defaultView, type KindView } from '../../../view/client/kind-view.ts';

export const vectorsView: KindView = {
  ...defaultView,
  target: (s) => s.target,
  measure: (s) => `share of answers judged “${s.target}”`,
};

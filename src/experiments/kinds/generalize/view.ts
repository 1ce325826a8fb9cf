/** The viewer's generalize: rates of the target label (the curve and effects are drawn for every kind). */
import { defaultView, type KindView } from '../../../view/client/kind-view.ts';

export const generalizeView: KindView = {
  ...defaultView,
  target: (s) => s.target,
  measure: (s) => `share of answers judged “${s.target}”`,
};

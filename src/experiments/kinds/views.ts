/**
 * The viewer's side of the kinds registry: how each kind is drawn (bundled into the browser app, so it
 * imports only the kinds' view modules, never their runs). A kind without an entry is drawn generically.
 */
import { defaultView, type KindView } from '../../view/client/kind-view.ts';
import { auditView } from './audit/view.ts';
import { conversationView } from './conversation/view.ts';
import { generalizeView } from './generalize/view.ts';
import { inferView } from './infer/view.ts';
import { profileView } from './profile/view.ts';
import { vectorsView } from './vectors/view.ts';

const VIEWS: Record<string, KindView> = {
  generalize: generalizeView,
  profile: profileView,
  infer: inferView,
  vectors: vectorsView,
  audit: auditView,
  conversation: conversationView,
};

export const viewOf = (kind: string): KindView => VIEWS[kind] ?? defaultView;

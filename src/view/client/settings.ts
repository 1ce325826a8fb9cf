/** Page-wide settings from the page's config (tests shrink them to reach the code paths of huge runs cheaply). */
export const settings = {
  /**
   * The tallest the sample list's scroll area gets. Browsers cap an element's height (Chromium near
   * 33.5 million px, Firefox near 17.9 million), so past this the scrollbar maps onto the rows in
   * proportion instead of one pixel to one pixel: a list of any length stays reachable.
   */
  listMaxPx: 6_000_000,
};

// The theme setting on the page: 'system' follows the OS (prefers-color-scheme), 'light' and
// 'dark' override it through the data-theme attribute that app.css keys its colours on.
import type { Theme } from '../../../src-shared/api';

export function applyTheme(theme: Theme): void {
  const root = document.documentElement;
  if (theme === 'system') delete root.dataset['theme'];
  else root.dataset['theme'] = theme;
}

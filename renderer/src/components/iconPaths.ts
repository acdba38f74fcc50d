/**
 * Stroke paths (24x24 grid) for the app's icons, drawn for this project.
 * Kept apart from the component so the set is easy to review and extend.
 */
export const ICON_PATHS = {
  new: ['M12 5v14', 'M5 12h14'],
  settings: [
    'M12 15.5a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z',
    'M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z',
  ],
  start: ['M7 4.5v15l12.5-7.5z'],
  pause: ['M8 5v14', 'M16 5v14'],
  resume: ['M7 4.5v15l12.5-7.5z'],
  reset: ['M3.5 12a8.5 8.5 0 1 0 2.5-6', 'M3.5 3.5V9H9'],
  powerOff: ['M12 3v9', 'M6.3 6.3a8 8 0 1 0 11.4 0'],
  shutdown: ['M12 3v6', 'M6.3 6.3a8 8 0 1 0 11.4 0', 'M9.5 15h5'],
  remove: ['M4 7h16', 'M9 7V4h6v3', 'M6 7l1 13h10l1-13', 'M10 11v6', 'M14 11v6'],
  console: ['M3 5h18v14H3z', 'M7 10l3 2-3 2', 'M12 15h5'],
  popout: ['M14 4h6v6', 'M20 4l-8 8', 'M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5'],
  close: ['M6 6l12 12', 'M18 6L6 18'],
  copy: ['M9 9h11v11H9z', 'M5 15H4V4h11v1'],
  paste: ['M9 4h6v3H9z', 'M9 5H6v15h12V5h-3', 'M9 12h6', 'M9 16h4'],
  // Machine states
  poweredOff: ['M12 3v9', 'M6.3 6.3a8 8 0 1 0 11.4 0'],
  starting: ['M12 3a9 9 0 1 0 9 9'],
  running: ['M7 4.5v15l12.5-7.5z'],
  paused: ['M8 5v14', 'M16 5v14'],
  saved: ['M5 3h11l3 3v15H5z', 'M8 3v5h7V3', 'M8 14h8v7H8z'],
  aborted: ['M12 3l10 18H2z', 'M12 10v5', 'M12 18h.01'],
  inaccessible: ['M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z', 'M12 8v5', 'M12 16h.01'],
  // Details sections
  general: ['M4 5h16v14H4z', 'M8 9h8', 'M8 13h5'],
  system: ['M7 7h10v10H7z', 'M10 3v4', 'M14 3v4', 'M10 17v4', 'M14 17v4', 'M3 10h4', 'M3 14h4', 'M17 10h4', 'M17 14h4'],
  storage: ['M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3z', 'M4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6', 'M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3'],
  network: ['M9 3h6v5H9z', 'M12 8v4', 'M4 12h16', 'M4 12v4', 'M20 12v4', 'M12 12v4', 'M2 16h4v5H2z', 'M10 16h4v5h-4z', 'M18 16h4v5h-4z'],
  serial: ['M3 8h18l-2 8H5z', 'M8 11h.01', 'M12 11h.01', 'M16 11h.01', 'M10 14h.01', 'M14 14h.01'],
  stats: ['M4 20V10', 'M10 20V4', 'M16 20v-7', 'M22 20H2'],
  folder: ['M3 6h6l2 2h10v11H3z'],
  machine: ['M3 4h18v12H3z', 'M8 20h8', 'M12 16v4'],
  linux: ['M12 3c-2.5 0-3.5 2.2-3.5 4.5 0 1.5-.5 2.5-1.5 4-1.2 1.8-2 3.5-2 5.5h14c0-2-.8-3.7-2-5.5-1-1.5-1.5-2.5-1.5-4C15.5 5.2 14.5 3 12 3z', 'M10 8h.01', 'M14 8h.01', 'M5 17l-1 3h5', 'M19 17l1 3h-5'],
} as const satisfies Record<string, readonly string[]>;

export type IconName = keyof typeof ICON_PATHS;

/** The store's directory: its owner only (it lists the records' files). */
export const DIR_MODE = 0o700;
/** Every file of the store: its owner only (records hold storage credentials). */
export const FILE_MODE = 0o600;

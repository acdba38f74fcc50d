/**
 * The ACPI power-management block the board decodes, as the FADT describes
 * it. These are the numbers agreed with the device model
 * (core/devices/acpiPm.ts); until that file exports them, they are defined
 * here with the same values so the tables and the device cannot disagree.
 */
/** First port of the PM block: PM1a_EVT_BLK (4 bytes), PM1a_CNT_BLK at +4 (2 bytes), PM_TMR_BLK at +8 (4 bytes). */
export const ACPI_PM_BASE = 0x600;
export const ACPI_PM1A_EVT_BLK = ACPI_PM_BASE;
export const ACPI_PM1_EVT_LEN = 4;
export const ACPI_PM1A_CNT_BLK = ACPI_PM_BASE + 4;
export const ACPI_PM1_CNT_LEN = 2;
export const ACPI_PM_TMR_BLK = ACPI_PM_BASE + 8;
export const ACPI_PM_TMR_LEN = 4;
/** SLP_TYP value that means S5 (soft off); the DSDT's \_S5 package carries it. */
export const ACPI_S5_SLP_TYP = 5;
/** ISA IRQ of the SCI. */
export const ACPI_SCI_IRQ = 9;
/** Reset register: the PCI reset control port, and the value that requests a hard reset. */
export const ACPI_RESET_PORT = 0xcf9;
export const ACPI_RESET_VALUE = 0x06;

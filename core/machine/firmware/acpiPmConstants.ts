/**
 * The ACPI power-management block as the firmware tables describe it. The
 * numbers are the device model's own (core/devices/acpiPm.ts), re-exported
 * here so the FADT/DSDT cannot disagree with the hardware; the reset register
 * (PIIX port 0xCF9, core/devices/resetControl.ts) is added.
 */
export {
  ACPI_PM_BASE,
  ACPI_PM1A_EVT_BLK,
  ACPI_PM1_EVT_LEN,
  ACPI_PM1A_CNT_BLK,
  ACPI_PM1_CNT_LEN,
  ACPI_PM_TMR_BLK,
  ACPI_PM_TMR_LEN,
  ACPI_S5_SLP_TYP,
  ACPI_SCI_IRQ,
} from '../../devices/acpiPm.ts';

/** Reset register: the PIIX reset control port, and the value that requests a hard reset (SRST | RCPU). */
export const ACPI_RESET_PORT = 0xcf9;
export const ACPI_RESET_VALUE = 0x06;

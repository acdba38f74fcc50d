/*
 * Popek's DSDT: the devices of the emulated PC (core/machine/machine.ts) as
 * ACPI describes them, so an ACPI-enabled OS finds the PCI bus and the legacy
 * ISA devices without probing.
 *
 * This file is the readable source. The AML the firmware installs is the
 * committed module dsdtAml.ts, generated from this file by
 * scripts/build-dsdt.sh (Debian's iasl, acpica-tools); rerun the script after
 * editing, and commit both. Only the AML body is used: acpiTables.ts puts its
 * own table header (OEM IDs, checksum) in front of it.
 *
 * Numbers that the device models own and that appear below:
 *   _S5 SLP_TYP 5            ACPI_S5_SLP_TYP (core/devices/acpiPm.ts)
 *   0x600-0x60F, SCI IRQ 9   ACPI PM block (core/devices/acpiPm.ts; the SCI is in the FADT)
 *   PCI 00:00.0, 00:01.0     440FX host bridge, PIIX3 ISA bridge (core/devices/pci.ts)
 *   PIRQ route regs 0x60-63  PIIX3 (core/devices/pciBridges.ts)
 *   PCI memory window        0x80000000-0xFEBFFFFF: above the largest RAM the
 *                            board accepts (1792 MiB), below the I/O APIC /
 *                            BIOS area a real board keeps at 0xFEC00000+.
 *
 * The CPU has no local APIC and there is no MADT, so the OS always runs in PIC
 * mode: one _PRT, routed through the PIIX3 link devices.
 */
DefinitionBlock ("", "DSDT", 2, "POPEK", "POPEKVM", 1)
{
    /* SLP_TYPa, SLP_TYPb, reserved, reserved: writing SLP_TYP 5 with SLP_EN to PM1a_CNT powers off. */
    Name (\_S5, Package (0x04) { 5, 5, 0, 0 })

    /* Interrupt model the OS chose: 0 = 8259 PIC, 1 = APIC. Stored only: this board has no APIC. */
    Name (\PICM, 0)
    Method (\_PIC, 1, NotSerialized)
    {
        \PICM = Arg0
    }

    Scope (\_SB)
    {
        /*
         * The PCI root bridge. _ADR 0 beside _HID draws iasl's one warning
         * ("requires either a _HID or _ADR, but not both"); it is kept, as
         * QEMU's and SeaBIOS's DSDTs keep it, to name the host bridge's own
         * address (00:00.0). It is harmless: Linux identifies a root bridge
         * by _HID and takes its bus number from _BBN.
         */
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A03"))
            Name (_ADR, 0)
            Name (_UID, 0)
            Name (_BBN, 0)

            /* What the host bridge decodes and passes down to bus 0. */
            Name (_CRS, ResourceTemplate ()
            {
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000, 0x0000, 0x00FF, 0x0000, 0x0100)
                /* Configuration mechanism #1 (and the reset control register at 0xCF9): the bridge's own ports. */
                IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300)
                /* Legacy VGA frame buffer window. */
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,
                    0x00000000, 0x000A0000, 0x000BFFFF, 0x00000000, 0x00020000)
                /* BARs of PCI devices: from 2 GiB (above all RAM) to just below 0xFEC00000. */
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
                    0x00000000, 0x80000000, 0xFEBFFFFF, 0x00000000, 0x7EC00000)
            })

            /*
             * PCI interrupt routing, PIC mode: slot S pin P (0 = INTA) is wired to
             * PIRQ[(S + P) mod 4], the swizzle of Piix3IsaBridge.routeIntx.
             * Entry: { address 0xSSSSFFFF (any function), pin, link device, 0 }.
             */
            Name (_PRT, Package ()
            {
                Package () { 0x0001FFFF, 0, LNKB, 0 }, Package () { 0x0001FFFF, 1, LNKC, 0 }, Package () { 0x0001FFFF, 2, LNKD, 0 }, Package () { 0x0001FFFF, 3, LNKA, 0 },
                Package () { 0x0002FFFF, 0, LNKC, 0 }, Package () { 0x0002FFFF, 1, LNKD, 0 }, Package () { 0x0002FFFF, 2, LNKA, 0 }, Package () { 0x0002FFFF, 3, LNKB, 0 },
                Package () { 0x0003FFFF, 0, LNKD, 0 }, Package () { 0x0003FFFF, 1, LNKA, 0 }, Package () { 0x0003FFFF, 2, LNKB, 0 }, Package () { 0x0003FFFF, 3, LNKC, 0 },
                Package () { 0x0004FFFF, 0, LNKA, 0 }, Package () { 0x0004FFFF, 1, LNKB, 0 }, Package () { 0x0004FFFF, 2, LNKC, 0 }, Package () { 0x0004FFFF, 3, LNKD, 0 },
                Package () { 0x0005FFFF, 0, LNKB, 0 }, Package () { 0x0005FFFF, 1, LNKC, 0 }, Package () { 0x0005FFFF, 2, LNKD, 0 }, Package () { 0x0005FFFF, 3, LNKA, 0 },
                Package () { 0x0006FFFF, 0, LNKC, 0 }, Package () { 0x0006FFFF, 1, LNKD, 0 }, Package () { 0x0006FFFF, 2, LNKA, 0 }, Package () { 0x0006FFFF, 3, LNKB, 0 },
                Package () { 0x0007FFFF, 0, LNKD, 0 }, Package () { 0x0007FFFF, 1, LNKA, 0 }, Package () { 0x0007FFFF, 2, LNKB, 0 }, Package () { 0x0007FFFF, 3, LNKC, 0 },
                Package () { 0x0008FFFF, 0, LNKA, 0 }, Package () { 0x0008FFFF, 1, LNKB, 0 }, Package () { 0x0008FFFF, 2, LNKC, 0 }, Package () { 0x0008FFFF, 3, LNKD, 0 },
                Package () { 0x0009FFFF, 0, LNKB, 0 }, Package () { 0x0009FFFF, 1, LNKC, 0 }, Package () { 0x0009FFFF, 2, LNKD, 0 }, Package () { 0x0009FFFF, 3, LNKA, 0 },
                Package () { 0x000AFFFF, 0, LNKC, 0 }, Package () { 0x000AFFFF, 1, LNKD, 0 }, Package () { 0x000AFFFF, 2, LNKA, 0 }, Package () { 0x000AFFFF, 3, LNKB, 0 },
                Package () { 0x000BFFFF, 0, LNKD, 0 }, Package () { 0x000BFFFF, 1, LNKA, 0 }, Package () { 0x000BFFFF, 2, LNKB, 0 }, Package () { 0x000BFFFF, 3, LNKC, 0 },
                Package () { 0x000CFFFF, 0, LNKA, 0 }, Package () { 0x000CFFFF, 1, LNKB, 0 }, Package () { 0x000CFFFF, 2, LNKC, 0 }, Package () { 0x000CFFFF, 3, LNKD, 0 },
                Package () { 0x000DFFFF, 0, LNKB, 0 }, Package () { 0x000DFFFF, 1, LNKC, 0 }, Package () { 0x000DFFFF, 2, LNKD, 0 }, Package () { 0x000DFFFF, 3, LNKA, 0 },
                Package () { 0x000EFFFF, 0, LNKC, 0 }, Package () { 0x000EFFFF, 1, LNKD, 0 }, Package () { 0x000EFFFF, 2, LNKA, 0 }, Package () { 0x000EFFFF, 3, LNKB, 0 },
                Package () { 0x000FFFFF, 0, LNKD, 0 }, Package () { 0x000FFFFF, 1, LNKA, 0 }, Package () { 0x000FFFFF, 2, LNKB, 0 }, Package () { 0x000FFFFF, 3, LNKC, 0 },
                Package () { 0x0010FFFF, 0, LNKA, 0 }, Package () { 0x0010FFFF, 1, LNKB, 0 }, Package () { 0x0010FFFF, 2, LNKC, 0 }, Package () { 0x0010FFFF, 3, LNKD, 0 },
                Package () { 0x0011FFFF, 0, LNKB, 0 }, Package () { 0x0011FFFF, 1, LNKC, 0 }, Package () { 0x0011FFFF, 2, LNKD, 0 }, Package () { 0x0011FFFF, 3, LNKA, 0 },
                Package () { 0x0012FFFF, 0, LNKC, 0 }, Package () { 0x0012FFFF, 1, LNKD, 0 }, Package () { 0x0012FFFF, 2, LNKA, 0 }, Package () { 0x0012FFFF, 3, LNKB, 0 },
                Package () { 0x0013FFFF, 0, LNKD, 0 }, Package () { 0x0013FFFF, 1, LNKA, 0 }, Package () { 0x0013FFFF, 2, LNKB, 0 }, Package () { 0x0013FFFF, 3, LNKC, 0 },
                Package () { 0x0014FFFF, 0, LNKA, 0 }, Package () { 0x0014FFFF, 1, LNKB, 0 }, Package () { 0x0014FFFF, 2, LNKC, 0 }, Package () { 0x0014FFFF, 3, LNKD, 0 },
                Package () { 0x0015FFFF, 0, LNKB, 0 }, Package () { 0x0015FFFF, 1, LNKC, 0 }, Package () { 0x0015FFFF, 2, LNKD, 0 }, Package () { 0x0015FFFF, 3, LNKA, 0 },
                Package () { 0x0016FFFF, 0, LNKC, 0 }, Package () { 0x0016FFFF, 1, LNKD, 0 }, Package () { 0x0016FFFF, 2, LNKA, 0 }, Package () { 0x0016FFFF, 3, LNKB, 0 },
                Package () { 0x0017FFFF, 0, LNKD, 0 }, Package () { 0x0017FFFF, 1, LNKA, 0 }, Package () { 0x0017FFFF, 2, LNKB, 0 }, Package () { 0x0017FFFF, 3, LNKC, 0 },
                Package () { 0x0018FFFF, 0, LNKA, 0 }, Package () { 0x0018FFFF, 1, LNKB, 0 }, Package () { 0x0018FFFF, 2, LNKC, 0 }, Package () { 0x0018FFFF, 3, LNKD, 0 },
                Package () { 0x0019FFFF, 0, LNKB, 0 }, Package () { 0x0019FFFF, 1, LNKC, 0 }, Package () { 0x0019FFFF, 2, LNKD, 0 }, Package () { 0x0019FFFF, 3, LNKA, 0 },
                Package () { 0x001AFFFF, 0, LNKC, 0 }, Package () { 0x001AFFFF, 1, LNKD, 0 }, Package () { 0x001AFFFF, 2, LNKA, 0 }, Package () { 0x001AFFFF, 3, LNKB, 0 },
                Package () { 0x001BFFFF, 0, LNKD, 0 }, Package () { 0x001BFFFF, 1, LNKA, 0 }, Package () { 0x001BFFFF, 2, LNKB, 0 }, Package () { 0x001BFFFF, 3, LNKC, 0 },
                Package () { 0x001CFFFF, 0, LNKA, 0 }, Package () { 0x001CFFFF, 1, LNKB, 0 }, Package () { 0x001CFFFF, 2, LNKC, 0 }, Package () { 0x001CFFFF, 3, LNKD, 0 },
                Package () { 0x001DFFFF, 0, LNKB, 0 }, Package () { 0x001DFFFF, 1, LNKC, 0 }, Package () { 0x001DFFFF, 2, LNKD, 0 }, Package () { 0x001DFFFF, 3, LNKA, 0 },
                Package () { 0x001EFFFF, 0, LNKC, 0 }, Package () { 0x001EFFFF, 1, LNKD, 0 }, Package () { 0x001EFFFF, 2, LNKA, 0 }, Package () { 0x001EFFFF, 3, LNKB, 0 },
                Package () { 0x001FFFFF, 0, LNKD, 0 }, Package () { 0x001FFFFF, 1, LNKA, 0 }, Package () { 0x001FFFFF, 2, LNKB, 0 }, Package () { 0x001FFFFF, 3, LNKC, 0 },
            })

            /* PIIX3 function 0: the PCI-to-ISA bridge and the legacy devices behind it. */
            Device (ISA_)
            {
                Name (_ADR, 0x00010000)

                /* PIRQ route control registers (PIIX3 config 0x60-0x63): bit 7 = not routed, bits 3:0 = ISA IRQ. */
                OperationRegion (PIRQ, PCI_Config, 0x60, 0x04)
                Field (PIRQ, ByteAcc, NoLock, Preserve)
                {
                    PRQA, 8,
                    PRQB, 8,
                    PRQC, 8,
                    PRQD, 8
                }

                /* 8042 keyboard controller: data 0x60, command/status 0x64. */
                Device (KBD_)
                {
                    Name (_HID, EisaId ("PNP0303"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0060, 0x0060, 0x01, 0x01)
                        IO (Decode16, 0x0064, 0x0064, 0x01, 0x01)
                        IRQNoFlags () { 1 }
                    })
                }

                /* The 8042's auxiliary (PS/2 mouse) port: its I/O is the keyboard's. */
                Device (MOU_)
                {
                    Name (_HID, EisaId ("PNP0F13"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IRQNoFlags () { 12 }
                    })
                }

                Device (RTC_)
                {
                    Name (_HID, EisaId ("PNP0B00"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0070, 0x0070, 0x01, 0x02)
                        IRQNoFlags () { 8 }
                    })
                }

                Device (COM1)
                {
                    Name (_HID, EisaId ("PNP0501"))
                    Name (_UID, 1)
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08)
                        IRQNoFlags () { 4 }
                    })
                }

                Device (COM2)
                {
                    Name (_HID, EisaId ("PNP0501"))
                    Name (_UID, 2)
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x02F8, 0x02F8, 0x01, 0x08)
                        IRQNoFlags () { 3 }
                    })
                }

                /* Master and slave 8259 and their edge/level control registers (ELCR); IRQ 2 is the cascade. */
                Device (PIC_)
                {
                    Name (_HID, EisaId ("PNP0000"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0020, 0x0020, 0x01, 0x02)
                        IO (Decode16, 0x00A0, 0x00A0, 0x01, 0x02)
                        IO (Decode16, 0x04D0, 0x04D0, 0x01, 0x02)
                        IRQNoFlags () { 2 }
                    })
                }

                Device (TMR_)
                {
                    Name (_HID, EisaId ("PNP0100"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0040, 0x0040, 0x01, 0x04)
                        IRQNoFlags () { 0 }
                    })
                }

                /* x87 error reporting: FERR# on IRQ 13, cleared by a write to 0xF0. */
                Device (FPU_)
                {
                    Name (_HID, EisaId ("PNP0C04"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x00F0, 0x00F0, 0x01, 0x10)
                        IRQNoFlags () { 13 }
                    })
                }

                /* PC speaker, gated by system control port B (0x61). */
                Device (SPKR)
                {
                    Name (_HID, EisaId ("PNP0800"))
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0061, 0x0061, 0x01, 0x01)
                    })
                }

                /* Ports the board decodes that no other device claims: the OS must not hand them out. */
                Device (MBRS)
                {
                    Name (_HID, EisaId ("PNP0C02"))
                    Name (_UID, 1)
                    Name (_CRS, ResourceTemplate ()
                    {
                        IO (Decode16, 0x0600, 0x0600, 0x01, 0x10) /* ACPI PM block */
                        IO (Decode16, 0x0092, 0x0092, 0x01, 0x01) /* port 92: fast A20 and reset */
                        IO (Decode16, 0x0080, 0x0080, 0x01, 0x01) /* POST code port */
                    })
                }
            }
        }

        /*
         * The four PIIX3 PIRQ lines as interrupt link devices. The OS picks an
         * IRQ from _PRS and programs it with _SRS; _CRS and _STA read the
         * route register back; _DIS sets its "not routed" bit.
         */

        /* ISA IRQs the PIIX3 can route a PIRQ to (3-7, 9-12, 14, 15), as a bit mask. */
        Name (PRIM, 0xDEF8)

        /* _STA for route register value Arg0: enabled (0x0B) if it names a routable IRQ, else disabled (0x09). */
        Method (PRST, 1, NotSerialized)
        {
            If ((Arg0 & 0x80) || !((PRIM >> (Arg0 & 0x0F)) & 1))
            {
                Return (0x09)
            }
            Return (0x0B)
        }

        /* _CRS for route register value Arg0: the IRQ it routes to, or an empty IRQ mask when not routed. */
        Method (PRCR, 1, Serialized)
        {
            Name (BUFF, ResourceTemplate ()
            {
                IRQ (Level, ActiveLow, Shared, IRQR) {}
            })
            CreateWordField (BUFF, IRQR._INT, MASK)
            If (PRST (Arg0) == 0x0B)
            {
                MASK = 1 << (Arg0 & 0x0F)
            }
            Return (BUFF)
        }

        /* _SRS: the route register value for the IRQ descriptor Arg0 (its lowest set mask bit), or "not routed". */
        Method (PRSR, 1, NotSerialized)
        {
            CreateWordField (Arg0, 1, MASK)
            Local0 = FindSetRightBit (MASK)
            If (Local0 == 0)
            {
                Return (0x80)
            }
            Local0--
            If (!((PRIM >> Local0) & 1))
            {
                Return (0x80)
            }
            Return (Local0)
        }

        Device (LNKA)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, 1)
            Name (_PRS, ResourceTemplate () { IRQ (Level, ActiveLow, Shared) { 5, 9, 10, 11 } })
            Method (_STA, 0, NotSerialized) { Return (PRST (\_SB.PCI0.ISA_.PRQA)) }
            Method (_CRS, 0, NotSerialized) { Return (PRCR (\_SB.PCI0.ISA_.PRQA)) }
            Method (_SRS, 1, NotSerialized) { \_SB.PCI0.ISA_.PRQA = PRSR (Arg0) }
            Method (_DIS, 0, NotSerialized) { \_SB.PCI0.ISA_.PRQA |= 0x80 }
        }

        Device (LNKB)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, 2)
            Name (_PRS, ResourceTemplate () { IRQ (Level, ActiveLow, Shared) { 5, 9, 10, 11 } })
            Method (_STA, 0, NotSerialized) { Return (PRST (\_SB.PCI0.ISA_.PRQB)) }
            Method (_CRS, 0, NotSerialized) { Return (PRCR (\_SB.PCI0.ISA_.PRQB)) }
            Method (_SRS, 1, NotSerialized) { \_SB.PCI0.ISA_.PRQB = PRSR (Arg0) }
            Method (_DIS, 0, NotSerialized) { \_SB.PCI0.ISA_.PRQB |= 0x80 }
        }

        Device (LNKC)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, 3)
            Name (_PRS, ResourceTemplate () { IRQ (Level, ActiveLow, Shared) { 5, 9, 10, 11 } })
            Method (_STA, 0, NotSerialized) { Return (PRST (\_SB.PCI0.ISA_.PRQC)) }
            Method (_CRS, 0, NotSerialized) { Return (PRCR (\_SB.PCI0.ISA_.PRQC)) }
            Method (_SRS, 1, NotSerialized) { \_SB.PCI0.ISA_.PRQC = PRSR (Arg0) }
            Method (_DIS, 0, NotSerialized) { \_SB.PCI0.ISA_.PRQC |= 0x80 }
        }

        Device (LNKD)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, 4)
            Name (_PRS, ResourceTemplate () { IRQ (Level, ActiveLow, Shared) { 5, 9, 10, 11 } })
            Method (_STA, 0, NotSerialized) { Return (PRST (\_SB.PCI0.ISA_.PRQD)) }
            Method (_CRS, 0, NotSerialized) { Return (PRCR (\_SB.PCI0.ISA_.PRQD)) }
            Method (_SRS, 1, NotSerialized) { \_SB.PCI0.ISA_.PRQD = PRSR (Arg0) }
            Method (_DIS, 0, NotSerialized) { \_SB.PCI0.ISA_.PRQD |= 0x80 }
        }
    }
}

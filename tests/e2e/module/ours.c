// SPDX-License-Identifier: GPL-2.0
/*
 * The module of the end-to-end test: it imports one vmlinux export (_printk, through pr_info)
 * and one export of another module (crc_itu_t, from lib/crc-itu-t.ko), so the kernel checks
 * the CRCs of both against the tables it was built with.
 */
#include <linux/crc-itu-t.h>
#include <linux/init.h>
#include <linux/module.h>

static int __init ours_init(void)
{
	static const u8 data[] = "123456789";

	/* CRC-ITU-T (0x1021, init 0) of "123456789" is 0x31c3. */
	pr_info("symvers-e2e: ours loaded, crc_itu_t=%04x\n", crc_itu_t(0, data, 9));
	return 0;
}

static void __exit ours_exit(void)
{
}

module_init(ours_init);
module_exit(ours_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("symvers end-to-end test module");

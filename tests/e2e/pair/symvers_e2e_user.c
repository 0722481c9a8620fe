// SPDX-License-Identifier: GPL-2.0
/*
 * The upper module of the end-to-end test's out-of-tree pair: it imports the lower module's
 * export (so it loads only after it, and only with its CRC) and _printk from vmlinux.
 */
#include <linux/init.h>
#include <linux/module.h>

int symvers_e2e_answer(int question);

static int __init user_init(void)
{
	pr_info("symvers-e2e: user loaded, answer=%d\n", symvers_e2e_answer(1));
	return 0;
}

static void __exit user_exit(void)
{
}

module_init(user_init);
module_exit(user_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("symvers end-to-end test: the importing module of a pair");

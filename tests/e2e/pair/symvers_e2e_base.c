// SPDX-License-Identifier: GPL-2.0
/*
 * The lower module of the end-to-end test's out-of-tree pair (as spl is to zfs): it exports
 * one function for the other module of the pair.
 */
#include <linux/init.h>
#include <linux/module.h>

int symvers_e2e_answer(int question)
{
	return question + 41;
}
EXPORT_SYMBOL_GPL(symvers_e2e_answer);

static int __init base_init(void)
{
	pr_info("symvers-e2e: base loaded\n");
	return 0;
}

static void __exit base_exit(void)
{
}

module_init(base_init);
module_exit(base_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("symvers end-to-end test: the exporting module of a pair");

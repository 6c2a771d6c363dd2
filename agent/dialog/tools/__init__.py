"""The tools the dialog's nodes call: FAQ, services, inventory, customers, scheduling, humans."""

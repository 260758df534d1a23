"""What differs between the Odoo series the addon runs on (18.0 and 19.0).

Every series-dependent line of the addon goes through this module: the rest
of the code reads the same on both series.
"""

from odoo import modules, release

MAJOR = release.version_info[0]
ODOO_19 = MAJOR >= 19

# Phone fields of contacts and leads that routing reads. Odoo 19 removed the
# ``mobile`` field of both: routing reads ``phone`` only there.
PHONE_FIELDS = ("phone",) if ODOO_19 else ("phone", "mobile")

# Data files loaded on one series only (see ir_model_data.py): views of
# models the other series lacks.
SERIES_DATA = () if ODOO_19 else ("data/odoo18/sms_resend_views.xml",)

# res.users' groups and res.groups' users.
USER_GROUPS_FIELD = "group_ids" if ODOO_19 else "groups_id"
GROUP_USERS_FIELD = "user_ids" if ODOO_19 else "users"
# ir.ui.menu's groups.
MENU_GROUPS_FIELD = "group_ids" if ODOO_19 else "groups_id"


def group_all_users(group):
    """Users of ``group``, whether given the group or one implying it."""
    return group.all_user_ids if ODOO_19 else group.users


if ODOO_19:
    from odoo.models import Constraint
else:

    class Constraint:
        """Odoo 19's ``models.Constraint``, declared on 18 through the
        model's ``_sql_constraints``: same SQL name (``<table>_<name>``)."""

        def __init__(self, definition, message=""):
            self.definition = definition
            self.message = message

        def __set_name__(self, owner, name):
            assert name.startswith("_"), "Names of SQL objects in a model must start with '_'"
            constraints = owner.__dict__.get("_sql_constraints", [])
            owner._sql_constraints = [*constraints, (name[1:], self.definition, self.message)]


def domain_and(*domains):
    """The conjunction of ``domains`` (Odoo 19 deprecates ``expression.AND``)."""
    if ODOO_19:
        from odoo.fields import Domain

        return Domain.AND(domains)
    from odoo.osv import expression

    return expression.AND([list(domain) for domain in domains])


def cron_progress(env, processed, remaining=None):
    """Add ``processed`` items to the progress of the cron run and commit it
    (outside tests), as Odoo 19's ``_commit_progress`` does; ``remaining``:
    the items left, when known. A run that committed progress and then died
    (a crash, a worker's time limit) is not taken for a hung one: Odoo fails
    a job after three runs in a row that ended without progress."""
    if ODOO_19:
        env["ir.cron"]._commit_progress(processed, remaining=remaining)
        return
    progress = env["ir.cron.progress"].sudo().browse(env.context.get("ir_cron_progress_id"))
    if progress:
        env["ir.cron"]._notify_progress(
            done=progress.done + processed, remaining=progress.remaining if remaining is None else remaining
        )
    if not modules.module.current_test:
        env.cr.commit()  # pylint: disable=invalid-commit


def store_add_values(store, model_name, values):
    """Add ``values`` (with an ``id``) to a mail Store without re-entering
    the model's ``_to_store`` (Odoo 19 calls it from ``Store.add``)."""
    if ODOO_19:
        return store.add_model_values(model_name, values)
    return store.add(model_name, values)


def message_compute_author_kwargs(raise_on_email):
    """``_message_compute_author`` takes ``raise_on_email`` on Odoo 18 only
    (19 never raises for a missing e-mail)."""
    return {} if ODOO_19 else {"raise_on_email": raise_on_email}

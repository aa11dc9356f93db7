"""Evaluation studies and the closing survey: studies, eval_items, eval_assignments, eval_judgements, survey_answers;
participants gain simulated, persona and finished, the 'evaluate' stage, a study that exists, and no prompt when
they evaluate

Revision ID: 0002
Revises: 0001
"""
import datetime as dt
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

OLD_STAGES = "stage IN ('articulate', 'select', 'relate', 'finish')"
NEW_STAGES = "stage IN ('articulate', 'select', 'relate', 'evaluate', 'finish')"


def _participants(revision: str):
    "The participants table as revision 0001 or 0002 made it (SQLite rebuilds it from this, constraints and all)."
    later = revision == '0002'
    return sa.Table('participants', sa.MetaData(),
        sa.Column('participant_id', sa.String(length=64), nullable=False),
        sa.Column('study', sa.String(length=64), nullable=False),
        sa.Column('panel_id', sa.String(length=64), nullable=True),
        sa.Column('prompt_id', sa.String(length=64), nullable=later),
        sa.Column('stage', sa.String(length=16), nullable=False),
        sa.Column('demographics', sa.JSON(), nullable=False),
        sa.Column('completion_code', sa.String(length=64), nullable=True),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        *([sa.Column('simulated', sa.Boolean(), server_default=sa.false(), nullable=False),
           sa.Column('persona', sa.String(length=64), nullable=True),
           sa.Column('finished', sa.DateTime(timezone=True), nullable=True),
           sa.ForeignKeyConstraint(['study'], ['studies.study'], name='fk_participants_study_studies')] if later else []),
        sa.CheckConstraint(NEW_STAGES if later else OLD_STAGES, name='ck_participants_stage'),
        sa.ForeignKeyConstraint(['prompt_id'], ['prompts.prompt_id'], name='fk_participants_prompt_id_prompts'),
        sa.PrimaryKeyConstraint('participant_id', name='pk_participants'),
        sa.UniqueConstraint('study', 'panel_id', name='uq_participants_study_panel_id'))


def upgrade() -> None:
    studies = op.create_table('studies',
    sa.Column('study', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('exclusion_rule', sa.Text(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('deliberate', 'evaluate')", name=op.f('ck_studies_kind')),
    sa.PrimaryKeyConstraint('study', name=op.f('pk_studies'))
    )
    # every study already in the database was a deliberation (the only kind before this revision)
    known = [r[0] for r in op.get_bind().execute(sa.text("SELECT DISTINCT study FROM participants ORDER BY study"))]
    now = dt.datetime.now(dt.timezone.utc)
    if known: op.bulk_insert(studies, [{"study": s, "kind": "deliberate", "config": {}, "exclusion_rule": None, "created": now} for s in known])

    with op.batch_alter_table('participants', copy_from=_participants('0001')) as batch_op:
        batch_op.add_column(sa.Column('simulated', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('persona', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('finished', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('prompt_id', existing_type=sa.String(length=64), nullable=True)
        batch_op.drop_constraint(op.f('ck_participants_stage'), type_='check')
        batch_op.create_check_constraint(op.f('ck_participants_stage'), sa.text(NEW_STAGES))
        batch_op.create_foreign_key(op.f('fk_participants_study_studies'), 'studies', ['study'], ['study'])

    op.create_table('eval_items',
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('study', sa.String(length=64), nullable=False),
    sa.Column('task', sa.String(length=16), nullable=False),
    sa.Column('prompt_id', sa.String(length=64), nullable=False),
    sa.Column('context_id', sa.String(length=64), nullable=True),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('cards', sa.JSON(), nullable=False),
    sa.Column('attention_check', sa.Boolean(), nullable=False),
    sa.Column('expected', sa.String(length=64), nullable=True),
    sa.Column('source', sa.JSON(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("task IN ('pairwise', 'legibility', 'distinguish')", name=op.f('ck_eval_items_task')),
    sa.CheckConstraint('(expected IS NOT NULL) = attention_check', name=op.f('ck_eval_items_expected')),
    sa.ForeignKeyConstraint(['study'], ['studies.study'], name=op.f('fk_eval_items_study_studies')),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_eval_items'))
    )
    op.create_index(op.f('ix_eval_items_study'), 'eval_items', ['study'], unique=False)
    op.create_table('eval_assignments',
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('shown', sa.JSON(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['eval_items.item_id'], name=op.f('fk_eval_assignments_item_id_eval_items')),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.participant_id'], name=op.f('fk_eval_assignments_participant_id_participants')),
    sa.PrimaryKeyConstraint('participant_id', 'item_id', name=op.f('pk_eval_assignments')),
    sa.UniqueConstraint('participant_id', 'position', name=op.f('uq_eval_assignments_participant_id_position'))
    )
    op.create_table('eval_judgements',
    sa.Column('judgement_id', sa.String(length=64), nullable=False),
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('task', sa.String(length=16), nullable=False),
    sa.Column('shown', sa.JSON(), nullable=False),
    sa.Column('response', sa.String(length=16), nullable=False),
    sa.Column('choice', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(task = 'pairwise' AND response IN ('A', 'B', 'same')) OR (task = 'distinguish' AND response IN ('A', 'B')) OR (task = 'legibility' AND response IN ('yes', 'partly', 'no'))", name=op.f('ck_eval_judgements_response')),
    sa.ForeignKeyConstraint(['participant_id', 'item_id'], ['eval_assignments.participant_id', 'eval_assignments.item_id'], name=op.f('fk_eval_judgements_participant_id_eval_assignments')),
    sa.PrimaryKeyConstraint('judgement_id', name=op.f('pk_eval_judgements')),
    sa.UniqueConstraint('participant_id', 'item_id', name=op.f('uq_eval_judgements_participant_id_item_id'))
    )
    op.create_index(op.f('ix_eval_judgements_item_id'), 'eval_judgements', ['item_id'], unique=False)
    op.create_table('survey_answers',
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('question_id', sa.String(length=64), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.String(length=16), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("answer IN ('agree', 'neutral', 'disagree')", name=op.f('ck_survey_answers_answer')),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.participant_id'], name=op.f('fk_survey_answers_participant_id_participants')),
    sa.PrimaryKeyConstraint('participant_id', 'question_id', name=op.f('pk_survey_answers'))
    )


def downgrade() -> None:
    "Back to 0001: evaluation studies, their participants and the survey answers are deleted."
    op.drop_table('survey_answers')
    op.drop_index(op.f('ix_eval_judgements_item_id'), table_name='eval_judgements')
    op.drop_table('eval_judgements')
    op.drop_table('eval_assignments')
    op.drop_index(op.f('ix_eval_items_study'), table_name='eval_items')
    op.drop_table('eval_items')
    op.execute("DELETE FROM participants WHERE prompt_id IS NULL OR stage = 'evaluate'")
    with op.batch_alter_table('participants', copy_from=_participants('0002')) as batch_op:
        batch_op.drop_constraint(op.f('fk_participants_study_studies'), type_='foreignkey')
        batch_op.drop_constraint(op.f('ck_participants_stage'), type_='check')
        batch_op.create_check_constraint(op.f('ck_participants_stage'), sa.text(OLD_STAGES))
        batch_op.alter_column('prompt_id', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('finished')
        batch_op.drop_column('persona')
        batch_op.drop_column('simulated')
    op.drop_table('studies')

from pathlib import Path

from django.core.management.base import BaseCommand

from calls.receptionist.evaluation import CORPUS, evaluate, format_report, load_corpus


class Command(BaseCommand):
    help = "Per-intent precision and recall of the receptionist's understanding on the labeled corpus."

    def add_arguments(self, parser):
        parser.add_argument("--split", default="all", choices=["all", "train", "test"])
        parser.add_argument("--corpus", default=str(CORPUS))
        parser.add_argument("--errors", action="store_true", help="List every misread message.")

    def handle(self, *args, split, corpus, errors, **options):
        report = evaluate(load_corpus(Path(corpus), split))
        self.stdout.write(format_report(report))
        if errors:
            self.stdout.write("\nmisread:")
            for text, expected, got in report.errors:
                self.stdout.write(f"  [{expected} -> {got}] {text}")
        for label, items in (
            ("MISSED EMERGENCY", report.missed_emergencies),
            ("MISSED OPT-OUT", report.missed_opt_outs),
            ("FALSE OPT-OUT", report.false_opt_outs),
        ):
            for text in items:
                self.stdout.write(f"{label}: {text}")

from nearmiss.cli import main

main()
